from ofa_dash.cli import main

raise SystemExit(main())

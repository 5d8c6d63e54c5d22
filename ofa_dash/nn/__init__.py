"""Elastic supernet, static subnets and BN recalibration."""

from ofa_dash.nn.bn import recalibrate_bn
from ofa_dash.nn.static import StaticNet
from ofa_dash.nn.supernet import Supernet

__all__ = ["StaticNet", "Supernet", "recalibrate_bn"]

"""The Subnet page's fine-tune: its background job, and what the page says about a subnet's fine-tuned weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ofa_dash.progress import Cancelled
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.ui.config import Settings
from ofa_dash.ui.jobs import Job, shared_dataset

RECIPES = ("cpu", "gpu", "tiny")  # the shipped recipes the page offers (batch size, lr, seed ...; see ofa_dash/recipes)


def job_key(space: SearchSpace, arch: Arch) -> str:
    """The session-state key holding the id of this subnet's fine-tune job."""
    return f"finetune_job_{space.name}_{arch.id}"


def finetune_record(settings: Settings, space: SearchSpace, arch: Arch) -> dict | None:
    """``finetune.json`` of this subnet beside the supernet, or None where it was never fine-tuned."""
    return settings.folder(space).read_finetune_record(arch.id)


def interrupted(settings: Settings, space: SearchSpace, arch: Arch) -> bool:
    """Whether a cancelled or killed fine-tune of this subnet left a checkpoint (the next run continues it)."""
    return settings.folder(space).finetune_checkpoint(arch.id).is_file()


def discard_checkpoint(settings: Settings, space: SearchSpace, arch: Arch) -> None:
    settings.folder(space).finetune_checkpoint(arch.id).unlink(missing_ok=True)


def record_summary(record: dict) -> str:
    """One line: how the fine-tuned weights were made and what they measure (Markdown)."""
    hp = record.get("hyperparameters") or {}
    return (
        f"Fine-tuned for {record['epochs']} epoch(s) ({record['steps']} steps, recipe `{hp.get('recipe')}`, lr {hp.get('lr')}, batch {hp.get('batch_size')}) "
        f"from supernet `{record['supernet_version']}`, finished {record.get('finished', '?')}: test top-1 **{record['top1_before']:.2f} %** before, "
        f"**{record['top1_after']:.2f} %** after, on {record['test_images']:,} test images (BN re-estimated as for exports)."
    )


def export_command(space: SearchSpace, arch: Arch) -> str:
    return f"python -m ofa_dash export --space {space.name} --arch {arch.id} --weights finetuned --format onnx --out {space.name}-{arch.id}-finetuned.onnx"


def finetune_work(settings: Settings, space: SearchSpace, arch: Arch, data_path: str | Path, epochs: int, recipe: str) -> Callable[[Job], dict]:
    """The body of a fine-tune job: continues this subnet's interrupted fine-tune when there is one (same settings), else starts one."""

    def work(job: Job) -> dict:
        # deferred: pages import this module; torch loads only when a job runs
        from ofa_dash.finetune import FinetuneConfig, finetune
        from ofa_dash.train import Recipe

        job.update("loading the dataset")
        data = shared_dataset(data_path, progress=lambda stage, done, total: job.update(stage, done, total))
        cfg = FinetuneConfig(
            space=space,
            arch=arch,
            epochs=int(epochs),
            recipe=Recipe.load(recipe),
            device="auto",
            resume=True,
            cancel=job.cancel.is_set,
            progress=job.update,
            supernet=settings.supernet_path(space),
        )
        result = finetune(cfg, data)
        if "stopped" in result:
            raise Cancelled(f"fine-tune stopped at epoch {result['epoch'] + 1}, step {result['step']} (checkpointed)")
        return result

    return work

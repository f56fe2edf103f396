"""Optional peers on the moons recipe: a Lightning Trainer, and the plain loop logging to MLflow.

Each is measured only where its package imports (`pip install -e '.[dev,bench]'`), interleaved
with the plain loop in the same run, so its ratio to plain shares the machine's load at the time.
Both train bench.workloads' plain setup (same data, network, Adam, StepLR) and must end on its
loss.

Lightning keeps the Trainer's defaults but for the CPU (the plain loop's device) and what the
plain loop does not do either: checkpoints, a progress bar, a model summary. It logs the loss with
self.log each epoch to a CSVLogger (its default logger without TensorBoard), and is fed one
ready-made full batch: a TensorDataset batched by the DataLoader would add 200 item lookups and a
stack per epoch, a cost of the data pipeline rather than of the Trainer. MLflow runs as `mlflow
server` does by default, on a SQLite store, and the loop calls log_metrics synchronously, the
client's default.
"""

import importlib
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from bench.overhead import Timing, Variant, measure, time_plain
from bench.stats import median, ratio
from bench.tracking_server import mlflow_server
from bench.workloads import PlainSetup, Workload
from training.evaluation import target_metrics

WARM_UP_SCALE = 0.01
# where a peer's Python API lives; the first name that imports is used
LIGHTNING_MODULES = ("lightning.pytorch", "pytorch_lightning")
MLFLOW_MODULES = ("mlflow",)

PeerFit = Callable[[PlainSetup], float]


@dataclass(frozen=True)
class PeerSession:
    """How to train one setup through the peer (returning the last train loss), and how."""

    fit: PeerFit
    note: str


@dataclass(frozen=True)
class Peer:
    label: str
    modules: tuple[str, ...]
    session: Callable[[ModuleType, Path], AbstractContextManager[PeerSession]]


def _lightning_module(pl: Any, setup: PlainSetup) -> Any:
    """The setup's network, loss, optimizer and schedule as a LightningModule that logs its loss."""

    class MoonsModule(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.network = setup.network

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
            x, y = batch
            loss: torch.Tensor = setup.loss_fn(self.network(x), y)
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def configure_optimizers(self) -> dict[str, Any]:
            if setup.scheduler is None:
                return {"optimizer": setup.optimizer}
            schedule = {"scheduler": setup.scheduler, "interval": "epoch"}
            return {"optimizer": setup.optimizer, "lr_scheduler": schedule}

    return MoonsModule()


def _full_batches(setup: PlainSetup) -> torch.utils.data.DataLoader[Any]:
    """The one ready-made batch as is (batch_size=None): no per-sample collation each epoch."""
    if setup.batch_size is not None:
        raise ValueError("the peers run full-batch workloads only")
    batch = torch.utils.data.TensorDataset(setup.x.unsqueeze(0), setup.y.unsqueeze(0))
    return torch.utils.data.DataLoader(batch, batch_size=None)


def lightning_moons(pl: Any, directory: Path, setup: PlainSetup) -> float:
    """Train setup with Trainer.fit; the last epoch's train loss as Lightning logged it."""
    trainer = pl.Trainer(
        max_epochs=setup.epochs,
        accelerator="cpu",
        devices=1,
        logger=pl.loggers.CSVLogger(directory, name="lightning"),
        default_root_dir=directory,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with warnings.catch_warnings():
        # advice on DataLoader workers and step logging: neither applies to one in-memory batch
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")
        trainer.fit(_lightning_module(pl, setup), train_dataloaders=_full_batches(setup))
    return float(trainer.callback_metrics["train_loss"])


@contextmanager
def lightning_session(pl: ModuleType, directory: Path) -> Iterator[PeerSession]:
    """The Trainer as the module docstring says, its info lines silenced."""
    logging.getLogger(pl.__name__).setLevel(logging.WARNING)
    note = (
        f"Lightning {pl.__version__} Trainer, self.log each epoch to the CSVLogger; "
        "no checkpoints, progress bar or model summary; one ready-made full batch"
    )
    yield PeerSession(partial(lightning_moons, pl, directory), note)


def _epoch(setup: PlainSetup) -> tuple[float, torch.Tensor]:
    """One full-batch step as plain_fit takes it: the loss and the outputs."""
    setup.optimizer.zero_grad()
    out = setup.network(setup.x)
    loss = setup.loss_fn(out, setup.y)
    loss.backward()
    setup.optimizer.step()
    return loss.item(), out.detach()


def mlflow_moons(mlflow: Any, setup: PlainSetup) -> float:
    """The plain loop in an MLflow run, log_metrics(train loss, accuracy, lr) every epoch."""
    if setup.batch_size is not None:
        raise ValueError("the peers run full-batch workloads only")
    loss = float("nan")
    with mlflow.start_run():
        for epoch in range(setup.epochs):
            loss, outputs = _epoch(setup)
            if setup.scheduler is not None:
                setup.scheduler.step()
            metrics = target_metrics("train", outputs, setup.y, setup.target_kind)
            metrics |= {
                f"lr/{i}": float(g["lr"]) for i, g in enumerate(setup.optimizer.param_groups)
            }
            mlflow.log_metrics({"train_loss": loss} | metrics, step=epoch)
    return loss


@contextmanager
def tracking_store(directory: Path) -> Iterator[tuple[str, str]]:
    """A tracking server's URI, or where it will not start a store the client writes itself.

    The fallback is a SQLite file rather than ./mlruns: MLflow 3 refuses its file store unless
    MLFLOW_ALLOW_FILE_STORE is set.
    """
    with ExitStack() as stack:
        try:
            url = stack.enter_context(mlflow_server(directory))
        except RuntimeError as error:
            uri = f"sqlite:///{directory}/direct.db"
            yield uri, f"a SQLite store without a server, since the server failed ({error})"
            return
        yield url, "a local tracking server (SQLite store)"


@contextmanager
def mlflow_session(mlflow: ModuleType, directory: Path) -> Iterator[PeerSession]:
    """A tracking server for the whole measurement, one run per training."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with tracking_store(directory) as (uri, store):
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("gradq-bench")
        note = f"MLflow {mlflow.__version__}, plain loop logging every epoch to {store}"
        yield PeerSession(partial(mlflow_moons, mlflow), note)


PEERS: dict[str, Peer] = {
    "lightning": Peer("Lightning", LIGHTNING_MODULES, lightning_session),
    "mlflow": Peer("plain + MLflow", MLFLOW_MODULES, mlflow_session),
}


def _import_first(names: tuple[str, ...]) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _timed(fit: PeerFit, workload: Workload) -> Timing:
    """As time_plain times the script: from building the setup to the last epoch's loss."""
    started, cpu = time.perf_counter(), time.process_time()
    loss = fit(workload.plain(workload.spec))
    return Timing(time.perf_counter() - started, time.process_time() - cpu, loss)


def _summary(timings: Mapping[str, list[Timing]], note: str) -> dict[str, Any]:
    plain, peer = timings["plain"], timings["peer"]
    plain_s, peer_s = median([t.seconds for t in plain]), median([t.seconds for t in peer])
    plain_loss, peer_loss = plain[-1].final_loss, peer[-1].final_loss
    return {
        "status": "measured",
        "note": note,
        "plain_s": plain_s,
        "peer_s": peer_s,
        "ratio": ratio(peer_s, plain_s),
        # the bench process only: an MLflow server's CPU is not in it
        "cpu_ratio": ratio(median([t.cpu for t in peer]), median([t.cpu for t in plain])),
        "plain_samples_s": [round(t.seconds, 5) for t in plain],
        "peer_samples_s": [round(t.seconds, 5) for t in peer],
        "final_train_loss": peer_loss,
        "same_final_loss": abs(peer_loss - plain_loss) <= 1e-5 * max(1.0, abs(plain_loss)),
    }


def measure_peer(
    peer: Peer, workload: Workload, repetitions: int, directory: Path
) -> dict[str, Any]:
    """Plain, peer, plain, peer... after a warm-up of each; 'not installed' if no import."""
    module = _import_first(peer.modules)
    entry: dict[str, Any] = {"label": peer.label}
    if module is None:
        return entry | {"status": "not installed", "modules": list(peer.modules)}
    try:
        with peer.session(module, directory) as session:
            chosen: dict[str, Variant] = {"plain": time_plain, "peer": partial(_timed, session.fit)}
            return entry | _summary(
                measure(workload, chosen, repetitions, workload.sized(WARM_UP_SCALE)),
                session.note,
            )
    except Exception as error:  # an optional peer's failure is reported, not fatal to the bench
        return entry | {"status": f"failed: {type(error).__name__}: {error}"}


def run_peers(
    workload: Workload, repetitions: int, directory: Path, peers: Mapping[str, Peer] = PEERS
) -> dict[str, Any]:
    """Every peer on workload, each in its own folder under directory."""
    results: dict[str, Any] = {}
    for name, peer in peers.items():
        (directory / name).mkdir()
        results[name] = measure_peer(peer, workload, repetitions, directory / name)
    return {
        "workload": workload.name,
        "description": workload.description,
        "epochs": workload.epochs,
        "samples": workload.samples,
        "repetitions": repetitions,
        "by_peer": results,
    }

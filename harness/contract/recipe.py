"""A model's own recipe: its module's DEFAULTS, typed once for the parent's checks and the
worker's training alike."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.contract.rules import EPOCHS, TARGET, integer
from harness.contract.spec import ConfigError, RunSpec, check


@dataclass(frozen=True)
class ModelRecipe:
    """A model's own recipe, its module's DEFAULTS: a dict literal as the plugin writes it
    (so that the parent reads it from the source, without importing the model), typed
    here once, for the parent's checks and the worker's training alike."""

    epochs: int
    batch_size: int
    optimizer: dict[str, Any]  # Keras's serialised optimizer (JSON): class_name and config
    loss: str
    dataset: str | None = None  # the dataset it was published for
    reference_accuracy: float | None = None  # its published test accuracy
    # The test accuracy its time to target is measured to (MLPerf's quality target), if
    # it states one; --target overrides it.
    target_accuracy: float | None = None

    REQUIRED: ClassVar[tuple[str, ...]] = ("epochs", "batch_size", "optimizer", "loss")

    @classmethod
    def parse(cls, defaults: object) -> ModelRecipe:
        """The recipe a model's DEFAULTS declares; a ConfigError that says what keeps it
        from being one, in words that follow "the model ..."."""
        if not isinstance(defaults, dict):
            raise ConfigError(
                f"has a DEFAULTS that is not a dict (its recipe), but {type(defaults).__name__}"
            )
        missing = [key for key in cls.REQUIRED if key not in defaults]
        if missing:
            raise ConfigError(
                f"has a DEFAULTS without {', '.join(missing)}: a recipe names "
                f"{', '.join(cls.REQUIRED)}, as models/mnist_cnn's does"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(map(str, set(defaults) - known))
        if unknown:
            raise ConfigError(
                f"has a DEFAULTS with {', '.join(unknown)}, which a recipe does not name "
                f"(it names {', '.join(sorted(known))})"
            )
        recipe = cls(**defaults)
        for name, rule in (("epochs", EPOCHS), ("batch_size", integer(1))):
            try:
                check(name, rule, getattr(recipe, name))
            except ConfigError as e:
                raise ConfigError(f"has a DEFAULTS whose {e}") from None
        if not isinstance(recipe.optimizer, dict) or "class_name" not in recipe.optimizer:
            raise ConfigError(
                "has a DEFAULTS whose optimizer is not a serialised Keras optimizer (a dict "
                f"with class_name and config), but {recipe.optimizer!r}"
            )
        if not isinstance(recipe.loss, str):
            raise ConfigError(f"has a DEFAULTS whose loss is not a name, but {recipe.loss!r}")
        try:
            check("target_accuracy", TARGET, recipe.target_accuracy, given=False)
        except ConfigError as e:
            raise ConfigError(f"has a DEFAULTS whose {e}") from None
        return recipe

    def target_of(self, spec: RunSpec) -> float | None:
        """The test accuracy `spec`'s run is timed to: --target, else this recipe's; a
        ConfigError where it must stop at a target and has none."""
        target = self.target_accuracy if spec.target is None else spec.target
        if spec.stop_at_target and target is None:
            raise ConfigError(
                f"stop_at_target needs a target: model {spec.model} states none "
                "(target_accuracy in its DEFAULTS); give one with --target"
            )
        return target

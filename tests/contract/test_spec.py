import pytest

from harness.contract.recipe import ModelRecipe
from harness.contract.spec import PROFILES, ConfigError, RunSpec, available_cpus, get_profile


@pytest.mark.parametrize("field", ["batch_size", "train_images", "threads"])
@pytest.mark.parametrize("value", [0, -3])
def test_non_positive_numbers_are_refused_naming_field_and_value(field, value):
    with pytest.raises(ConfigError, match=f"{field} must be an integer ≥ 1, got {value}"):
        RunSpec(backend="jax", **{field: value})


@pytest.mark.parametrize(("field", "most"), [("epochs", "1,000"), ("round", "100")])
@pytest.mark.parametrize("value", [0, 10**20])
def test_epochs_and_rounds_are_bounded_on_both_sides(field, most, value):
    with pytest.raises(ConfigError, match=f"{field} must be an integer from 1 to {most}, got"):
        RunSpec(backend="jax", **{field: value})


@pytest.mark.parametrize("value", ["12", 1.5, True])
def test_non_integers_are_refused(value):
    with pytest.raises(ConfigError, match="epochs must be an integer"):
        RunSpec(backend="jax", epochs=value)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_outside_32_bits_is_refused(seed):
    with pytest.raises(
        ConfigError, match=f"seed must be an integer from 0 to 4,294,967,295, got {seed}"
    ):
        RunSpec(backend="jax", seed=seed)
    assert RunSpec(backend="jax", seed=2**32 - 1).seed == 2**32 - 1


def test_data_format_must_be_known():
    with pytest.raises(
        ConfigError,
        match="data_format must be one of .channels_last., .channels_first., got .NHWC.",
    ):
        RunSpec(backend="jax", data_format="NHWC")


def test_threads_cannot_exceed_available_cpus():
    n = len(available_cpus())
    with pytest.raises(ConfigError, match=f"threads must be <= {n}"):
        RunSpec(backend="jax", threads=n + 1)


def test_a_native_run_starts_from_the_harness_draw_at_the_recipes_settings():
    assert RunSpec(backend="jax", impl="native").impl == "native"
    with pytest.raises(ConfigError, match="impl must be one of keras, native, got 'plain'"):
        RunSpec(backend="jax", impl="plain")
    with pytest.raises(ConfigError, match="init must be harness, got 'keras'"):
        RunSpec(backend="jax", impl="native", init="keras")
    with pytest.raises(ConfigError, match="impl native runs the framework's plain code"):
        RunSpec(backend="jax", impl="native", tuning=(("ops", "harness"),))
    with pytest.raises(ConfigError, match="tuning must be"):
        RunSpec(backend="jax", tuning=(("ops",),))
    # pairs in any order, from JSON's lists, are one tuning
    assert RunSpec(backend="jax", tuning=[["xla", "a"], ["ops", "b"]]).tuning == (
        ("ops", "b"), ("xla", "a"),
    )  # fmt: skip


def test_threads_default_to_every_available_cpu():
    assert RunSpec(backend="jax").threads == len(available_cpus())


def test_unknown_profile_lists_known_ones():
    with pytest.raises(ConfigError, match="unknown profile 'fast'; known profiles: quick, seed"):
        get_profile("fast")


def test_seed_profile_leaves_the_recipe_to_the_model():
    spec = RunSpec.from_profile("jax", "seed")
    assert (spec.epochs, spec.train_images, spec.batch_size) == (None, None, None)


def test_quick_profile_is_one_epoch_on_6000_images_and_options_override_it():
    assert (PROFILES["quick"].epochs, PROFILES["quick"].train_images) == (1, 6000)
    spec = RunSpec.from_profile("torch", "quick", epochs=3)
    assert (spec.epochs, spec.train_images) == (3, 6000)


def test_spec_round_trips_through_dict_and_refuses_unknown_fields():
    spec = RunSpec(backend="torch", seed=7, epochs=2, data_format="channels_first", threads=1)
    assert RunSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown RunSpec fields: colour"):
        RunSpec.from_dict({**spec.to_dict(), "colour": "red"})


def test_a_target_is_a_share_and_stopping_at_it_needs_every_epoch_evaluated():
    with pytest.raises(ConfigError, match="target must be a number above 0 and at most 1"):
        RunSpec(backend="jax", threads=1, target=98.8)
    with pytest.raises(ConfigError, match="which the speed profile does not do"):
        RunSpec.from_profile("jax", "speed", threads=1, stop_at_target=True)
    assert RunSpec.from_profile("jax", "quick", threads=1, stop_at_target=True).stop_at_target


def test_the_target_is_the_option_else_the_models_and_stopping_needs_one():
    recipe = {"epochs": 2, "batch_size": 10, "optimizer": {"class_name": "SGD"}, "loss": "mse"}
    with pytest.raises(ConfigError, match="DEFAULTS whose target_accuracy must be a number"):
        ModelRecipe.parse({**recipe, "target_accuracy": 99.0})
    stated = ModelRecipe.parse({**recipe, "target_accuracy": 0.9})
    assert stated.target_of(RunSpec(backend="jax", threads=1)) == 0.9
    assert stated.target_of(RunSpec(backend="jax", threads=1, target=0.5)) == 0.5
    none = ModelRecipe.parse(recipe)
    assert none.target_of(RunSpec(backend="jax", threads=1)) is None
    with pytest.raises(ConfigError, match="stop_at_target needs a target: model mnist_cnn"):
        none.target_of(RunSpec(backend="jax", threads=1, stop_at_target=True))

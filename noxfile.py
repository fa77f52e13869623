"""The tox matrix as nox sessions, with the same names: `nox -s tf jax torch keras2`,
`nox -t test`."""

import os

import nox

nox.options.sessions = ["tf", "jax", "torch", "keras2"]
BACKENDS = {"tf": "tensorflow", "jax": "jax", "torch": "torch"}  # tox env -> KERAS_BACKEND
# Keras 2: tf_keras's metadata asks for `tensorflow`, a second TensorFlow beside
# tensorflow-cpu; it is installed without its dependencies.
TF_KERAS = "tf_keras==2.21.0"
PASSED = ("HARNESS_DATA_DIR", "KERAS_HOME", "CI")


def _env(session: nox.Session, **extra: str) -> dict[str, str]:
    return {k: os.environ[k] for k in PASSED if k in os.environ} | extra


for _env_name, _backend in BACKENDS.items():

    @nox.session(name=_env_name, python="3.11")
    def main_job(session: nox.Session, env_name: str = _env_name, backend: str = _backend) -> None:
        """Train and evaluate on one backend, then rebuild results/REPORT.md."""
        session.install(f".[{backend}]")
        session.run(
            "python",
            "-m",
            "harness",
            "run",
            "--backend",
            env_name,
            *session.posargs,
            env=_env(session),
        )

    @nox.session(name=f"test-{_env_name}", python="3.11", tags=["test"])
    def backend_tests(session: nox.Session, backend: str = _backend) -> None:
        """Tests that need keras and this backend's framework."""
        session.install(f".[{backend},test]")
        if backend == "tensorflow":  # test-tf tests the keras2 backend too
            session.install("--no-deps", TF_KERAS)
        session.run(
            "pytest", "-m", "backend", *session.posargs, env=_env(session, KERAS_BACKEND=backend)
        )


@nox.session(python="3.11")
def keras2(session: nox.Session) -> None:
    """Train and evaluate on Keras 2 (tf_keras) and TensorFlow, then rebuild the report."""
    session.install(".[tensorflow]")
    session.install("--no-deps", TF_KERAS)
    session.run(
        "python", "-m", "harness", "run", "--backend", "keras2", *session.posargs,
        env=_env(session),
    )  # fmt: skip


@nox.session(python="3.11", tags=["test"])
def unit(session: nox.Session) -> None:
    """Unit tests: no keras, no framework."""
    session.install(".[test]")
    session.run(
        "pytest", "-m", "not backend and not cross_backend", *session.posargs, env=_env(session)
    )


@nox.session(name="test-cross", python="3.11", tags=["test"])
def cross_backend_tests(session: nox.Session) -> None:
    """Tests across backends (starting points, parity, a two-node Ray cluster): all three
    frameworks and Ray in one env."""
    session.install(".[tensorflow,jax,torch,ray,test]")
    session.run("pytest", "-m", "cross_backend", *session.posargs, env=_env(session))


@nox.session(python="3.11", tags=["test"])
def lint(session: nox.Session) -> None:
    """ruff (lint, banned framework imports, format), import-linter (the pipeline's
    direction), mypy (types) and the documentation site, built strictly (a broken link or
    a page left out fails)."""
    session.install(
        "ruff>=0.6", "import-linter>=2.1", "mypy>=1.10", "numpy>=1.26", "mkdocs-material>=9.5"
    )
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")
    session.run("mypy")
    site = os.path.join(session.create_tmp(), "site")
    session.run("mkdocs", "build", "--strict", "--site-dir", site)


@nox.session(python="3.11")
def speed(session: nox.Session) -> None:
    """Speed on this machine in one environment with every framework: by default the
    campaign (every row, default and tuned, rounds of the speed profile until every
    ratio's interval is within ±5 %); `-- tune
    --backend tf,jax,torch` measures the tuned settings first."""
    session.install(".[tensorflow,jax,torch]")
    session.install("--no-deps", TF_KERAS)
    args = session.posargs or [
        "run", "--backend", "tf,jax,torch,keras2", "--impl", "keras,native",
        "--profile", "speed", "--rounds", "auto", "--settings", "default,tuned",
    ]  # fmt: skip
    session.run("python", "-m", "harness", *args, env=_env(session))


@nox.session(python="3.11")
def report(session: nox.Session) -> None:
    """Rebuild results/REPORT.md and summary.csv from result files (no training)."""
    session.install(".")
    session.run("python", "-m", "harness", "report", *session.posargs)

"""A worker asked to stop stops, even where the first exception is swallowed."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from harness.worker.stopping import Stopped, StopRequest


@pytest.fixture
def request_here():
    """A StopRequest installed in this process, and this process's handler restored."""
    before = signal.getsignal(signal.SIGTERM)
    stop = StopRequest()
    stop.install()
    yield stop
    signal.signal(signal.SIGTERM, before)


def test_a_stop_swallowed_where_it_landed_is_raised_again_at_the_next_check(request_here):
    stop = request_here
    stop.check()  # nothing asked yet
    try:  # as JAX's tracing does in places: a bare except around a call
        signal.raise_signal(signal.SIGTERM)
    except:  # noqa: E722
        pass
    with pytest.raises(Stopped) as stopped:
        stop.check()
    assert stopped.value.code == 128 + signal.SIGTERM


def test_a_second_sigterm_does_not_break_off_the_cleanup_the_first_started(request_here):
    with pytest.raises(Stopped):
        signal.raise_signal(signal.SIGTERM)
    signal.raise_signal(signal.SIGTERM)  # the launcher's, after the parent's death
    assert request_here.signum == signal.SIGTERM


def test_a_process_whose_every_exception_is_swallowed_stops_at_its_next_step():
    loop = textwrap.dedent(
        """
        from harness.worker.stopping import STOP, Stopped, exit_now
        STOP.install()
        print("ready", flush=True)
        try:
            while True:
                STOP.check()  # a training step
                try:
                    sum(range(10_000))
                except:  # everything, SystemExit included
                    pass
        except Stopped as e:
            exit_now(e)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", loop], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        proc.kill()  # if it did not stop, it must not spin on after the test
        proc.wait()

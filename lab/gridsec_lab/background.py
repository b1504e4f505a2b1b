"""Background lab processes shared by the command lines (``argus``, ``smtp``): start ``python -m gridsec_lab ...
--foreground`` detached, wait until it says it is ready, and stop it again through its pidfile."""
import os
import signal
import subprocess
import sys
import threading
import time

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spawn(args, log_path, ready, timeout):
    """Run ``python -m gridsec_lab ARGS`` in a new session with its output in ``log_path``; wait until
    ``ready()`` is true. Returns the process, or None when it exited or did not get ready in time (then it is
    terminated)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = LAB_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gridsec_lab", *args], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return None
        if ready():
            return proc
        time.sleep(0.1)
    proc.terminate()
    return None


def wait_for_stop_signal():
    """Block until SIGTERM or Ctrl-C (the foreground mode of every lab command)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def stop(pidfile, what="lab", timeout=20):
    """SIGTERM the process named in ``pidfile`` and wait for it to exit. Returns the exit status of the
    command (0 stopped or already gone, 1 nothing to stop or still running)."""
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        print("no %s running in %s" % (what, os.path.dirname(pidfile)))
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        os.unlink(pidfile)
        print("%s process %d was not running" % (what, pid))
        return 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        print("%s process %d did not stop" % (what, pid))
        return 1
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    print("stopped %s process %d" % (what, pid))
    return 0

"""Offline stand-in for ansible-test's downloaded ``get-pip-<version>.py``.

ansible-test bootstraps pip in each virtualenv it creates by running a get-pip script that it
downloads from ci-files.testing.ansible.com (unreachable from our CI; ansible/ansible#77304).
It first looks for a cached copy at ``$HOME/.ansible/test/cache/get_pip_<X_Y>.py``; the test
runner copies this file there under a scratch HOME.

ansible-test runs it as ``python get_pip.py [pip install options] pip==<version> ...``. We do the
same with the interpreter's bundled pip: bootstrap it with ensurepip, then let that pip install the
requested packages. ``--no-setuptools``/``--no-wheel`` are get-pip options that ``pip install`` does
not know, so they are dropped.
"""
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    install_args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    if install_args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + install_args)


if __name__ == "__main__":
    main()

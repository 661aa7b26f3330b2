"""Stand-in for ansible-test's pip bootstrap script, whose download host this network cannot reach.

ansible-test runs its get-pip script with pip's own arguments to put pip into a fresh
virtualenv. This does the same from Python's bundled pip (ensurepip), then hands the
arguments to pip, which takes the requested version from the package index.
"""
import ensurepip
import os
import runpy
import sys

ensurepip.bootstrap(upgrade=True)
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip points it at /dev/null; pip needs the real config
# get-pip's arguments are what to install, plus two options only get-pip knows.
sys.argv[1:] = ["install"] + [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
runpy.run_module("pip", run_name="__main__", alter_sys=True)

"""Imported only if something imports a path a job names: importing it leaves a marker file
(the path in WAGW_TEST_PROBE), so a test can prove nothing did."""

import os
from pathlib import Path

if os.environ.get("WAGW_TEST_PROBE"):
    Path(os.environ["WAGW_TEST_PROBE"]).touch()


def called(*args, **kwargs) -> None:
    Path(os.environ["WAGW_TEST_PROBE"] + ".called").touch()

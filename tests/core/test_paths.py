"""esm_schnet.core.paths: the path conventions the rules use."""

import os

from esm_schnet.core.paths import job_input_path


def test_job_input_path_is_relative_inside_the_working_directory(tmp_path, monkeypatch):
    work = tmp_path / "project"
    (work / "data").mkdir(parents=True)
    monkeypatch.chdir(work)
    inside = str(work / "data" / "a.pdb")
    assert job_input_path(inside) == os.path.join("data", "a.pdb")
    outside = str(tmp_path / "elsewhere" / "b.pdb")
    assert job_input_path(outside) == outside
    # a relative path starting with "-" would read as an option: kept absolute
    dash = str(work / "-c.pdb")
    assert job_input_path(dash) == dash

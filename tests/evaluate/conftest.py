import pytest

from evaldata import synthetic_cv


@pytest.fixture
def cv_data(tmp_path):
    return synthetic_cv(tmp_path)

"""Root conftest: only the thread setting. The audit plugin (checks/plugin.py) loads as an installed
pytest plugin (the ``pytest11`` entry point in pyproject.toml), here and in any other directory."""
import os

# One BLAS/torch thread per xdist worker, set before numpy or torch is imported: on a 2-core
# machine two workers with two threads each oversubscribe and small torch work runs ~30x slower.
if "PYTEST_XDIST_WORKER" in os.environ:
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"

"""A restricted unpickler for Linli's own model objects: only known classes and reconstruction helpers load.

Fitted models hold scikit-learn and LightGBM objects and pandas frames that have no pickle-free format in common,
so their files stay pickles. They are read only after their signature checks (:mod:`recommenders.signing`), and
then through :class:`SafeUnpickler`, which refuses every global outside an allowlist: classes defined in Linli's
own packages and in numpy, pandas, pyarrow, SciPy sparse, scikit-learn and LightGBM, plus the few reconstruction
functions those libraries pickle with. ``os.system``, ``builtins.eval``, ``subprocess`` and the like never load.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

#: Packages whose *classes* may be rebuilt (functions from them may not, except :data:`_FUNCTIONS`).
_CLASS_PACKAGES = ("features", "profiling", "recommenders", "training", "numpy", "pandas", "pyarrow",
                   "scipy.sparse", "sklearn", "lightgbm")
#: Classes from the standard library that hold data only.
_STDLIB_CLASSES = {
    ("builtins", name) for name in ("slice", "set", "frozenset", "complex", "range", "bytearray", "dict", "list",
                                    "tuple", "bytes", "str", "int", "float", "bool", "object")
} | {("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "deque"),
     ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"), ("datetime", "timezone"),
     ("decimal", "Decimal"), ("pathlib", "PosixPath"), ("pathlib", "PurePosixPath"), ("zoneinfo", "ZoneInfo"),
     ("copyreg", "_reconstructor")}
#: Reconstruction functions numpy, pandas and pyarrow pickle with.
_FUNCTIONS = {
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__randomstate_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"), ("pandas._libs.internals", "_unpickle_block"),
    ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"), ("pandas._libs.tslibs.nattype", "__nat_unpickle"),
    ("pandas.core.indexes.base", "_new_Index"), ("pandas.core.indexes.period", "_new_PeriodIndex"),
    ("pandas._libs.sparse", "_make_block"), ("pandas.core.arrays.categorical", "_recode_for_categories"),
    ("pyarrow.lib", "_restore_array"), ("pyarrow.lib", "py_buffer"), ("pyarrow.lib", "type_for_alias"),
    ("pyarrow.lib", "schema"), ("pyarrow.lib", "field"), ("pyarrow.lib", "_reconstruct_table"),
    # singletons (missing-value markers)
    ("pandas", "NA"), ("pandas", "NaT"), ("pandas._libs.missing", "NA"), ("pyarrow", "NA"), ("pyarrow.lib", "NA"),
}


class ForbiddenGlobalError(pickle.UnpicklingError):
    """A pickle asked for a global outside the allowlist."""


def _in_packages(module: str) -> bool:
    return any(module == root or module.startswith(f"{root}.") for root in _CLASS_PACKAGES)


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that loads only allowlisted globals (see the module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        """Return the global ``module.name`` if it is allowed; raise :class:`ForbiddenGlobalError` otherwise."""
        if (module, name) in _FUNCTIONS or (module, name) in _STDLIB_CLASSES:
            return super().find_class(module, name)
        if _in_packages(module) and "." not in name:
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise ForbiddenGlobalError(f"the pickle refers to {module}.{name}, which is not allowed in a Linli "
                                   "model file")


def safe_loads(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`SafeUnpickler`."""
    return SafeUnpickler(io.BytesIO(data)).load()


__all__ = ["ForbiddenGlobalError", "SafeUnpickler", "safe_loads"]

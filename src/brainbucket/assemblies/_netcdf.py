"""xarray ↔ compressed netCDF (HDF5, through h5netcdf), byte-for-byte repeatable.

Writing the same data twice gives identical bytes (measured: h5netcdf stores no creation
times), which is what lets an unchanged re-upload be recognised by its sha1.
netCDF cannot hold a pandas MultiIndex, which BrainIO assemblies use on their main
dimensions: the index is flattened to its level coordinates before writing and rebuilt on
reading, from a note in the file's attributes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._exceptions import IntegrityError, UsageError

__all__ = ["is_xarray", "read_netcdf", "write_netcdf"]

_MULTIINDEX_ATTR = "brainbucket_multiindex"
_DATAARRAY_ATTR = "brainbucket_dataarray"


def is_xarray(obj: Any) -> bool:
    import xarray as xr

    return isinstance(obj, xr.DataArray | xr.Dataset)


def write_netcdf(obj: Any, dest: str | os.PathLike[str], *, complevel: int = 1) -> Path:
    """Write a DataArray or Dataset as zlib-compressed netCDF4 at ``dest``.

    Numeric variables get the byte-shuffle filter and zlib level 1: measured on 50 MiB of
    float32 rates, that is both faster and smaller than level 4 without shuffle.

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile, os
    >>> a = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("x", "y"), name="v")
    >>> p = write_netcdf(a, os.path.join(tempfile.mkdtemp(), "a.nc"))
    >>> bool(read_netcdf(p, "DataArray").equals(a))
    True
    """
    import pandas as pd
    import xarray as xr

    if not is_xarray(obj):
        msg = f"expected an xarray DataArray or Dataset, got {type(obj).__name__}"
        raise UsageError(msg)
    multi = {
        str(dim): [str(n) for n in obj.indexes[dim].names]
        for dim in obj.dims
        if dim in obj.indexes and isinstance(obj.indexes[dim], pd.MultiIndex)
    }
    if multi:
        obj = obj.reset_index(list(multi))
        # reset_index leaves the flattened tuple coordinate named after the dimension: drop it.
        obj = obj.drop_vars([d for d in multi if d in obj.coords])
    ds = obj.to_dataset(name=obj.name or "data") if isinstance(obj, xr.DataArray) else obj.copy()
    if isinstance(obj, xr.DataArray):
        ds.attrs[_DATAARRAY_ATTR] = str(obj.name or "data")
        ds.attrs.update({k: v for k, v in obj.attrs.items() if k not in ds.attrs})
    if multi:
        ds.attrs[_MULTIINDEX_ATTR] = json.dumps(multi, sort_keys=True)
    encoding = {
        name: {"zlib": True, "complevel": complevel, "shuffle": True}
        for name, var in ds.data_vars.items()
        if var.dtype.kind in "biufc" and var.ndim > 0
    }
    dest = Path(dest)
    ds.to_netcdf(dest, engine="h5netcdf", encoding=encoding)
    return dest


def read_netcdf(path: str | os.PathLike[str], class_name: str = "DataArray") -> Any:
    """Load a file written by :func:`write_netcdf` fully into memory.

    Returns a DataArray unless the stored object was a Dataset.
    """
    import xarray as xr

    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        msg = f"{path}: not a readable netCDF file ({exc})"
        raise IntegrityError(msg) from exc
    multi = json.loads(ds.attrs.pop(_MULTIINDEX_ATTR, "{}"))
    name = ds.attrs.pop(_DATAARRAY_ATTR, None)
    if multi:
        ds = ds.set_index({dim: levels for dim, levels in multi.items()})
    if class_name == "Dataset" or (name is None and len(ds.data_vars) != 1):
        return ds
    var = name if name in ds.data_vars else next(iter(ds.data_vars))
    arr = ds[var]
    arr.attrs = {**ds.attrs, **arr.attrs}
    return arr

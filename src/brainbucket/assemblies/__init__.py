"""Versioned data assemblies under an identifier, with a catalog shared through the bucket.

Examples
--------
>>> import numpy as np, xarray as xr, tempfile
>>> from brainbucket import assemblies
>>> where = tempfile.mkdtemp()
>>> a = xr.DataArray(np.arange(3.0), dims="x", name="rates")
>>> rec = assemblies.upload_data_assembly(a, "lab.rates", store=where)
>>> bool(assemblies.load_assembly("lab.rates", rec.version_id, rec.sha1, store=where).equals(a))
True
"""

from ._brainio import BRAINIO_COLUMNS, export_brainio_csv, import_brainio_csv
from ._catalog import CATALOG_PATH, Catalog, read_catalog, update_catalog
from ._demo import DemoResult, demo, demo_assembly
from ._load import FetchResult, fetch_assembly, load_assembly, load_from_s3
from ._record import AssemblyRecord, check_identifier
from ._upload import upload_data_assembly

__all__ = [
    "BRAINIO_COLUMNS",
    "CATALOG_PATH",
    "AssemblyRecord",
    "Catalog",
    "DemoResult",
    "FetchResult",
    "check_identifier",
    "demo",
    "demo_assembly",
    "export_brainio_csv",
    "fetch_assembly",
    "import_brainio_csv",
    "load_assembly",
    "load_from_s3",
    "read_catalog",
    "update_catalog",
    "upload_data_assembly",
]

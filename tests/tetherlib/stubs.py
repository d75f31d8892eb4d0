"""gNMI stubs generated at run time by grpc_tools.protoc from this repository's
proto/gnmi/gnmi.proto and proto/gnmi_ext/gnmi_ext.proto.

pygnmi (in the same pytest process as the interop suites) registers its own gnmi 0.8 `gnmi.*`
messages in protobuf's default descriptor pool, which refuses a second definition of the same
names. The generated modules are therefore pointed at a private descriptor pool (one textual
substitution in each generated *_pb2.py); the wire format, the service name `/gnmi.gNMI/...`
and the message classes are exactly what protoc generated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import REPO

POOL_MODULE = "_tether_pb_pool"


def generate(out_dir: Path):
    """protoc → out_dir/gnmi/gnmi_pb2{,_grpc}.py, gnmi_ext/...; returns (gnmi_pb2, gnmi_pb2_grpc)."""
    import grpc_tools  # noqa: PLC0415
    from grpc_tools import protoc  # noqa: PLC0415

    well_known = str(Path(grpc_tools.__file__).parent / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{REPO / 'proto'}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        str(REPO / "proto" / "gnmi" / "gnmi.proto"),
        str(REPO / "proto" / "gnmi_ext" / "gnmi_ext.proto"),
    ]
    rc = protoc.main(args)
    if rc != 0:
        raise RuntimeError(f"protoc failed ({rc}): {args}")
    for f in out_dir.rglob("*_pb2.py"):
        text = f.read_text()
        if "_descriptor_pool.Default()" not in text:
            raise RuntimeError(f"{f}: protoc's output no longer names the default pool")
        f.write_text(text.replace("_descriptor_pool.Default()", f'__import__("{POOL_MODULE}").POOL'))
    (out_dir / f"{POOL_MODULE}.py").write_text(
        "from google.protobuf import descriptor_pool, any_pb2, descriptor_pb2, duration_pb2\n"
        "POOL = descriptor_pool.DescriptorPool()\n"
        "for _m in (any_pb2, descriptor_pb2, duration_pb2):\n"
        "    POOL.AddSerializedFile(_m.DESCRIPTOR.serialized_pb)\n"
    )
    sys.path.insert(0, str(out_dir))
    try:
        from gnmi import gnmi_pb2, gnmi_pb2_grpc  # noqa: PLC0415
    finally:
        sys.path.remove(str(out_dir))
    return gnmi_pb2, gnmi_pb2_grpc

"""isol8's message modules for Python tests and benchmarks: generated from
api/ with protoc into a directory of the caller's (generated code is never
committed) and loaded by path, so a generated grpc/health package cannot
shadow the installed grpc package."""
import importlib.util
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def generate(out_dir, *protos, source=REPO):
    """Generates protos (paths under api/, or grpc/... from grpc-proto) and
    returns their modules, in order, each named after its file."""
    subprocess.run(["protoc", "-I", os.path.join(source, "api"), "-I", "/usr/include",
                    "-I", "/usr/share/grpc-proto", "--python_out", out_dir, *protos], check=True)
    return [load(os.path.join(out_dir, p[:-len(".proto")] + "_pb2.py"), os.path.basename(p)[:-len(".proto")] + "_pb2")
            for p in protos]

"""Writes Milvus's protocol definitions, as a protobuf descriptor set, for `protoc --descriptor_set_in`.

The definitions reach this machine inside the PyPI package `pymilvus`: its `pymilvus/grpc_gen/*_pb2.py` modules carry
the compiled file descriptors. Glimpse needs a few of MilvusService's 140-odd RPCs, so the set is pruned to those RPCs
and the messages and enums they reach; what is kept is unchanged (same package, service, names and field numbers), so
the generated client stays wire-compatible with every Milvus server.

    python descriptors.py OUT.pb    (run by generate.sh)
"""
import sys

from google.protobuf import descriptor_pb2
from pymilvus.grpc_gen import milvus_pb2

# The RPCs the Milvus store calls (Sources/GlimpseStore/Milvus).
RPCS = [
    "CreateCollection", "DropCollection", "HasCollection", "DescribeCollection", "LoadCollection", "GetLoadState",
    "CreateIndex", "DescribeIndex", "Insert", "Upsert", "Delete", "Search", "Query", "Flush", "GetVersion",
    "CheckHealth", "Connect",
]


def main(out):
    files = {}

    def collect(fd):
        if fd.name in files:
            return
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        files[fd.name] = proto
        for dep in fd.dependencies:
            collect(dep)

    collect(milvus_pb2.DESCRIPTOR)

    # Every message and enum by its full name, with the file that defines it at top level.
    index = {}

    def walk(file, prefix, messages, enums, top):
        for m in messages:
            name = prefix + "." + m.name
            index[name] = (file, top or m.name, m)
            walk(file, name, m.nested_type, m.enum_type, top or m.name)
        for e in enums:
            index[prefix + "." + e.name] = (file, top or e.name, e)

    for name, proto in files.items():
        walk(name, "." + proto.package if proto.package else "", proto.message_type, proto.enum_type, None)

    milvus_file = files[milvus_pb2.DESCRIPTOR.name]
    service = next(s for s in milvus_file.service if s.name == "MilvusService")
    others = [s for s in milvus_file.service if s.name != "MilvusService"]   # ProxyService and the like
    for other in others:
        milvus_file.service.remove(other)
    methods = [m for m in service.method if m.name in RPCS]
    missing = set(RPCS) - {m.name for m in methods}
    if missing:
        sys.exit(f"pymilvus lacks RPCs {sorted(missing)}")
    del service.method[:]
    service.method.extend(methods)
    for m in service.method:
        m.ClearField("options")   # privilege annotations (custom options from common.proto)

    # The closure of the types the kept RPCs reach; a nested type keeps its top-level message.
    keep = set()   # (file, top-level name)
    seen = set()
    # Besides the RPCs' own types: messages sent serialized inside `bytes` fields (a search's placeholder group,
    # a collection's schema is already a field type elsewhere).
    EXTRA = [".milvus.proto.common.PlaceholderGroup", ".milvus.proto.schema.CollectionSchema"]
    pending = [m.input_type for m in methods] + [m.output_type for m in methods] + EXTRA
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        file, top, node = index[name]
        keep.add((file, top))
        top_name = "." + files[file].package + "." + top
        if top_name not in seen:
            pending.append(top_name)
        if isinstance(node, descriptor_pb2.DescriptorProto):
            for field in node.field:
                if field.type_name:
                    pending.append(field.type_name)
            for nested in node.nested_type:
                pending.append(name + "." + nested.name)

    result = descriptor_pb2.FileDescriptorSet()
    kept_files = set()
    for name, proto in files.items():
        messages = [m for m in proto.message_type if (name, m.name) in keep]
        enums = [e for e in proto.enum_type if (name, e.name) in keep]
        if not messages and not enums and not proto.service:
            continue
        del proto.message_type[:]
        proto.message_type.extend(messages)
        del proto.enum_type[:]
        proto.enum_type.extend(enums)
        proto.ClearField("extension")   # custom options on descriptor.proto's messages
        kept_files.add(name)
        result.file.append(proto)
    for proto in result.file:
        deps = [d for d in proto.dependency if d in kept_files]
        del proto.dependency[:]
        proto.dependency.extend(deps)
        proto.ClearField("public_dependency")
        proto.ClearField("weak_dependency")
    # Dependencies first, as protoc wants them.
    ordered, done = [], set()

    def place(proto):
        if proto.name in done:
            return
        for d in proto.dependency:
            place(next(p for p in result.file if p.name == d))
        done.add(proto.name)
        ordered.append(proto)

    for proto in list(result.file):
        place(proto)
    del result.file[:]
    result.file.extend(ordered)
    with open(out, "wb") as f:
        f.write(result.SerializeToString())
    print(f"{len(methods)} RPCs, {len(keep)} top-level types in {[p.name for p in ordered]}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])

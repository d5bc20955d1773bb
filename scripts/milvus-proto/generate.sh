#!/usr/bin/env bash
# Regenerates Sources/MilvusProtocol (the Swift messages and gRPC client of Milvus's MilvusService) from the protocol
# definitions that ship inside pymilvus. Run by hand, never by CI: the output is committed.
#
#   PROTOC_GEN_SWIFT=… PROTOC_GEN_GRPC_SWIFT=… bash scripts/milvus-proto/generate.sh
#
# Needs protoc (Debian's protobuf-compiler), the plugins protoc-gen-swift (apple/swift-protobuf 1.39.0) and
# protoc-gen-grpc-swift-2 (grpc/grpc-swift-protobuf 2.4.1), built with `swift build -c release --product …` in any
# package that depends on those two, and Python with the pymilvus version in PYMILVUS_VERSION.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../Sources/MilvusProtocol"
version="$(cat "$here/PYMILVUS_VERSION")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "pymilvus==$version"
"$work/venv/bin/python" "$here/descriptors.py" "$work/milvus.pb"
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
mkdir -p "$out"
protoc --descriptor_set_in="$work/milvus.pb" \
  --plugin=protoc-gen-swift="${PROTOC_GEN_SWIFT:?path to protoc-gen-swift}" \
  --plugin=protoc-gen-grpc-swift="${PROTOC_GEN_GRPC_SWIFT:?path to protoc-gen-grpc-swift-2}" \
  --swift_out="$out" --swift_opt=Visibility=Public,FileNaming=DropPath \
  --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public,Client=true,Server=false,FileNaming=DropPath \
  common.proto schema.proto msg.proto milvus.proto
# Only milvus.proto has a service: the other files get no gRPC code.
rm -f "$out"/common.grpc.swift "$out"/schema.grpc.swift "$out"/msg.grpc.swift
echo "generated $(ls "$out" | wc -l) files from pymilvus $version into $out"

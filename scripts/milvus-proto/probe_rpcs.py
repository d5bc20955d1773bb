#!/usr/bin/env python3
"""Calls each MilvusService RPC the Milvus store uses, the way it uses it, and prints what the server answers: the
comparison of milvus-lite with the real Milvus (see the README's Milvus section).

    python3 scripts/milvus-proto/probe_rpcs.py HOST:PORT            # milvus-lite: scripts/milvus.sh start
    scripts/milvus-standalone.sh run python3 scripts/milvus-proto/probe_rpcs.py 127.0.0.1:19530

Needs grpcio and pymilvus (any 2.4+ or 3.x: only its generated protocol modules are used, so every server gets
the same bytes).
"""
import json
import struct
import sys
import time

import grpc
from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc, schema_pb2


def kv(key, value):
    return common_pb2.KeyValuePair(key=key, value=value)


def main(target):
    stub = milvus_pb2_grpc.MilvusServiceStub(grpc.insecure_channel(target))
    name = f"probe_{int(time.time())}"
    results = []

    def probe(rpc, request, note=""):
        try:
            response = getattr(stub, rpc)(request, timeout=30)
        except grpc.RpcError as error:
            results.append((rpc, note, f"gRPC {error.code().name}: {error.details()[:100]}"))
            return None
        status = response if isinstance(response, common_pb2.Status) else getattr(response, "status", None)
        if status is not None and (status.code != 0 or status.error_code != 0):
            results.append((rpc, note, f"error {status.code}/{status.error_code}: {status.reason[:100]}"))
        else:
            results.append((rpc, note, "ok"))
        return response

    probe("GetVersion", milvus_pb2.GetVersionRequest())
    probe("CheckHealth", milvus_pb2.CheckHealthRequest())
    probe("Connect", milvus_pb2.ConnectRequest(client_info=common_pb2.ClientInfo(sdk_type="probe")))
    fields = [
        schema_pb2.FieldSchema(name="id", data_type=schema_pb2.Int64, is_primary_key=True),
        schema_pb2.FieldSchema(name="path", data_type=schema_pb2.VarChar, type_params=[kv("max_length", "512")]),
        schema_pb2.FieldSchema(name="metadata", data_type=schema_pb2.JSON),
        schema_pb2.FieldSchema(name="embedding", data_type=schema_pb2.FloatVector, type_params=[kv("dim", "4")]),
    ]
    schema = schema_pb2.CollectionSchema(name=name, fields=fields)
    probe("CreateCollection", milvus_pb2.CreateCollectionRequest(collection_name=name, schema=schema.SerializeToString(),
                                                                 shards_num=1, consistency_level=common_pb2.Bounded))
    probe("CreateCollection", milvus_pb2.CreateCollectionRequest(collection_name=name, schema=schema.SerializeToString(), shards_num=1),
          "again (exists)")
    has = probe("HasCollection", milvus_pb2.HasCollectionRequest(collection_name=name))
    probe("DescribeCollection", milvus_pb2.DescribeCollectionRequest(collection_name=name))
    probe("DescribeIndex", milvus_pb2.DescribeIndexRequest(collection_name=name, field_name="embedding"), "before any index")
    index = [kv("index_type", "HNSW"), kv("metric_type", "COSINE"), kv("params", json.dumps({"M": 16, "efConstruction": 200}))]
    probe("CreateIndex", milvus_pb2.CreateIndexRequest(collection_name=name, field_name="embedding", index_name="embedding_index", extra_params=index))
    probe("CreateIndex", milvus_pb2.CreateIndexRequest(collection_name=name, field_name="embedding", index_name="embedding_index", extra_params=index),
          "again (same parameters)")
    probe("LoadCollection", milvus_pb2.LoadCollectionRequest(collection_name=name))
    for _ in range(100):
        state = probe("GetLoadState", milvus_pb2.GetLoadStateRequest(collection_name=name))
        results.pop()
        if state is not None and state.state == common_pb2.LoadStateLoaded:
            break
        time.sleep(0.2)
    results.append(("GetLoadState", "", f"ok ({common_pb2.LoadState.Name(state.state) if state else '?'})"))

    def columns(ids, metadata):
        vectors = [v for i in ids for v in (1.0, float(i), 0.5, 0.25)]
        return [
            schema_pb2.FieldData(field_name="id", type=schema_pb2.Int64, scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=ids))),
            schema_pb2.FieldData(field_name="path", type=schema_pb2.VarChar,
                                 scalars=schema_pb2.ScalarField(string_data=schema_pb2.StringArray(data=[f"/p/{i}" for i in ids]))),
            schema_pb2.FieldData(field_name="metadata", type=schema_pb2.JSON,
                                 scalars=schema_pb2.ScalarField(json_data=schema_pb2.JSONArray(data=[json.dumps(m).encode() for m in metadata]))),
            schema_pb2.FieldData(field_name="embedding", type=schema_pb2.FloatVector,
                                 vectors=schema_pb2.VectorField(dim=4, float_vector=schema_pb2.FloatArray(data=vectors))),
        ]
    metadata = [{"color": "red", "year": 2020}, {"color": "blue", "tags": ["a", "b"]}, {}]
    inserted = probe("Insert", milvus_pb2.InsertRequest(collection_name=name, fields_data=columns([1, 2, 3], metadata), num_rows=3))
    upserted = probe("Upsert", milvus_pb2.UpsertRequest(collection_name=name, fields_data=columns([3, 4], [{"color": "red"}, {}]), num_rows=2))
    if upserted is not None:
        results.append(("Upsert", "write timestamp", "reported" if upserted.timestamp else "0 (not reported)"))
    deleted = probe("Delete", milvus_pb2.DeleteRequest(collection_name=name, expr="id in [4]"))

    def query(expr, note, **extra):
        response = probe("Query", milvus_pb2.QueryRequest(collection_name=name, expr=expr, output_fields=["id"], consistency_level=common_pb2.Strong,
                                                          use_default_consistency=False, **extra), note)
        if response is not None and results[-1][2] == "ok":
            ids = sorted(response.fields_data[0].scalars.long_data.data) if response.fields_data else []
            results[-1] = (results[-1][0], note, f"ok {ids}")
        return response
    first = query("id > 0", "Strong, all rows")
    if first is not None:
        results.append(("Query", "session_ts", "reported" if first.session_ts else "0 (not reported)"))
    query("", "count(*)", ) if False else None
    counted = probe("Query", milvus_pb2.QueryRequest(collection_name=name, expr="", output_fields=["count(*)"], consistency_level=common_pb2.Strong,
                                                     use_default_consistency=False), "count(*)")
    query('exists metadata["color"] and not (metadata["color"] == "red")', "exists a and b (unparenthesised)")
    query('(exists metadata["color"]) and not (metadata["color"] == "red")', "(exists a) and b")
    query('json_contains(metadata["tags"], "a")', "json_contains")
    query('json_contains_any(metadata["tags"], ["b", "z"])', "json_contains_any")
    query('metadata["year"] in [2020, 2021]', "in on a JSON path")
    query('(exists metadata["tags"][0])', "exists on a list element")
    query('path like "/p/%"', "like prefix")
    query("id >= 1 and id < 3", "primary-key range", query_params=[kv("limit", "10")])
    group = common_pb2.PlaceholderGroup(placeholders=[common_pb2.PlaceholderValue(
        tag="$0", type=common_pb2.PlaceholderType.FloatVector, values=[struct.pack("<4f", 1, 1, 0.5, 0.25)])])
    params = [kv("anns_field", "embedding"), kv("topk", "2"), kv("metric_type", "COSINE"), kv("params", json.dumps({"ef": 64})),
              kv("round_decimal", "-1"), kv("offset", "0")]
    for note, consistency, guarantee in [("Bounded", common_pb2.Bounded, 0), ("Session, guarantee = upsert's timestamp", common_pb2.Session,
                                                                               upserted.timestamp if upserted else 0)]:
        found = probe("Search", milvus_pb2.SearchRequest(collection_name=name, dsl='metadata["color"] == "red"', dsl_type=common_pb2.BoolExprV1,
                                                         placeholder_group=group.SerializeToString(), search_params=params, nq=1,
                                                         output_fields=["metadata"], consistency_level=consistency, guarantee_timestamp=guarantee,
                                                         use_default_consistency=False), note)
        if found is not None and results[-1][2] == "ok":
            results[-1] = ("Search", note, f"ok ids {list(found.results.ids.int_id.data)}")
    probe("Flush", milvus_pb2.FlushRequest(collection_names=[name]))
    probe("DropCollection", milvus_pb2.DropCollectionRequest(collection_name=name))
    probe("DropCollection", milvus_pb2.DropCollectionRequest(collection_name=name), "again (gone)")
    version = stub.GetVersion(milvus_pb2.GetVersionRequest(), timeout=10).version
    print(json.dumps({"server": target, "version": version, "calls": [{"rpc": r, "case": n, "answer": a} for r, n, a in results]}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:19530")

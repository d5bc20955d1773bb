/// The OpenAPI 3.1 description of the API, served verbatim at /openapi.json. `OpenAPITests` checks that every
/// endpoint of `Routes.endpoints` is described here and that every path described here is routed.
public enum OpenAPIDocument {
    public static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Glimpse",
    "version": "0.1.0",
    "description": "Semantic image search over a Glimpse library: search by text or by example image, browse, upload and delete images, rescan the collection. Every error is a JSON body {\"error\": {\"code\", \"message\"}} with a 4xx status. When the server was started with --auth-token, /api and /metrics need `Authorization: Bearer TOKEN` (GET requests may pass `access_token=TOKEN` instead)."
  },
  "servers": [{"url": "/"}],
  "security": [{}, {"bearerAuth": []}],
  "paths": {
    "/": {
      "get": {
        "operationId": "webUI", "summary": "The web UI (HTML, no build step)", "security": [],
        "responses": {"200": {"description": "The search page", "content": {"text/html": {"schema": {"type": "string"}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openAPI", "summary": "This document", "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    },
    "/healthz": {
      "get": {
        "operationId": "health", "summary": "Liveness and library size", "security": [],
        "responses": {"200": {"description": "Serving", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LibraryInfo"}}}}}
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics", "summary": "Prometheus metrics: request counts, latency histograms, index size",
        "responses": {
          "200": {"description": "Text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/info": {
      "get": {
        "operationId": "libraryInfo", "summary": "The library at a glance: size, model, index kind",
        "responses": {
          "200": {"description": "Library facts", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LibraryInfo"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    },
    "/api/search": {
      "get": {
        "operationId": "searchText", "summary": "Search by text",
        "parameters": [
          {"name": "q", "in": "query", "required": true, "description": "What to look for", "schema": {"type": "string"}},
          {"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"}, {"$ref": "#/components/parameters/MinScore"}, {"$ref": "#/components/parameters/Ef"},
          {"$ref": "#/components/parameters/Path"}, {"$ref": "#/components/parameters/Filter"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/Search"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      },
      "post": {
        "operationId": "search", "summary": "Search by text or by a base64-encoded image (JSON body)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchRequest"}}}},
        "responses": {
          "200": {"$ref": "#/components/responses/Search"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/UnusableImage"}
        }
      }
    },
    "/api/search/image": {
      "post": {
        "operationId": "searchImage", "summary": "Search by an example image (multipart field `image`, or a raw image body)",
        "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"}, {"$ref": "#/components/parameters/MinScore"}, {"$ref": "#/components/parameters/Ef"}, {"$ref": "#/components/parameters/Filter"}],
        "requestBody": {"$ref": "#/components/requestBodies/Image"},
        "responses": {
          "200": {"$ref": "#/components/responses/Search"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/UnusableImage"}
        }
      }
    },
    "/api/images": {
      "post": {
        "operationId": "uploadImage", "summary": "Upload an image: stored in the library's uploads folder (named by its content) and indexed",
        "requestBody": {"$ref": "#/components/requestBodies/Image"},
        "responses": {
          "201": {"description": "Indexed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageInfo"}}}},
          "501": {"$ref": "#/components/responses/UploadsDisabled"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/UnusableImage"}
        }
      }
    },
    "/api/images/{id}": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "operationId": "getImage", "summary": "One image's facts",
        "responses": {
          "200": {"description": "The image", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageInfo"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "delete": {
        "operationId": "deleteImage", "summary": "Remove an image from the library (an uploaded copy is deleted; collection files never are)",
        "responses": {
          "204": {"description": "Removed"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"}
        }
      }
    },
    "/api/images/{id}/thumbnail": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "operationId": "getThumbnail", "summary": "JPEG thumbnail (longest side 384 px), made at index time; ETag and Cache-Control",
        "responses": {
          "200": {"description": "JPEG", "headers": {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}},
                  "content": {"image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}}}},
          "304": {"description": "Not modified (If-None-Match)"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/UnusableImage"}
        }
      }
    },
    "/api/images/{id}/file": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "operationId": "getImageFile", "summary": "The original image file",
        "responses": {
          "200": {"description": "The file, with its image content type", "headers": {"ETag": {"schema": {"type": "string"}}},
                  "content": {"image/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
          "304": {"description": "Not modified (If-None-Match)"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/images/{id}/similar": {
      "parameters": [{"$ref": "#/components/parameters/Id"}],
      "get": {
        "operationId": "similarImages", "summary": "More like this: the library's nearest images to this one (itself excluded)",
        "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/Offset"}, {"$ref": "#/components/parameters/MinScore"}, {"$ref": "#/components/parameters/Ef"}, {"$ref": "#/components/parameters/Filter"}],
        "responses": {
          "200": {"$ref": "#/components/responses/Search"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/api/index": {
      "post": {
        "operationId": "startIndexing", "summary": "Rescan the collection folders in the background",
        "responses": {
          "202": {"description": "Started", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IndexStatus"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "409": {"$ref": "#/components/responses/Conflict"}
        }
      }
    },
    "/api/index/status": {
      "get": {
        "operationId": "indexingStatus", "summary": "Progress of the current (or last) indexing run",
        "responses": {
          "200": {"description": "Status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IndexStatus"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    "parameters": {
      "Id": {"name": "id", "in": "path", "required": true, "description": "Image id", "schema": {"type": "integer", "format": "int64", "minimum": 1}},
      "Limit": {"name": "limit", "in": "query", "description": "Results per page (default 30)", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
      "Offset": {"name": "offset", "in": "query", "description": "Results to skip (paging)", "schema": {"type": "integer", "minimum": 0, "maximum": 10000}},
      "Filter": {"name": "filter", "in": "query", "style": "form", "explode": true, "description": "Metadata filter clauses, all of which must hold (repeat the parameter, or join clauses with 'and'): key op value with op one of = != < <= > >= in contains, e.g. photographer = \"Jane\", year >= 2020, keywords contains \"beach\", format in (\"png\", \"webp\"). A bad clause is a 400 naming it.", "schema": {"type": "array", "maxItems": 32, "items": {"type": "string", "maxLength": 2048}}},
      "MinScore": {"name": "min_score", "in": "query", "description": "Only results with at least this cosine similarity", "schema": {"type": "number", "minimum": -1, "maximum": 1}},
      "Path": {"name": "path", "in": "query", "description": "How a text query finds images: clip (image embeddings, default), caption (the captions' sentence embeddings) or hybrid (both rankings fused by reciprocal rank); caption and hybrid need a library indexed with --captions (see /api/info search_paths)", "schema": {"type": "string", "enum": ["clip", "caption", "hybrid"], "default": "clip"}},
      "Ef": {"name": "ef", "in": "query", "description": "Candidates an approximate (HNSW) search considers: higher finds more of the true nearest, slower", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}
    },
    "requestBodies": {
      "Image": {
        "required": true,
        "content": {
          "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
          "image/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
        }
      }
    },
    "responses": {
      "Search": {"description": "Results, best first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResponse"}}}},
      "BadRequest": {"description": "A bad parameter or body", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "Missing or wrong bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such image (or its file is gone)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "An indexing run is in progress, or there is nothing to index", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "Body over the upload limit, or image over the pixel limit", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UnsupportedMediaType": {"description": "Wrong content type", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UnusableImage": {"description": "Not an image Glimpse can read, or corrupt", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UploadsDisabled": {"description": "This server keeps no uploads (a shared store served without --uploads)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unavailable": {"description": "The store (a database server) cannot be reached; retry shortly", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "SearchRequest": {
        "type": "object",
        "description": "Exactly one of text and image_base64",
        "properties": {
          "text": {"type": "string"},
          "image_base64": {"type": "string", "description": "Base64 image bytes, optionally as a data: URL"},
          "limit": {"type": "integer", "minimum": 1, "maximum": 500},
          "offset": {"type": "integer", "minimum": 0, "maximum": 10000},
          "min_score": {"type": "number", "minimum": -1, "maximum": 1},
          "ef": {"type": "integer", "minimum": 1, "maximum": 1000},
          "path": {"type": "string", "enum": ["clip", "caption", "hybrid"], "description": "Text queries only (see the path parameter)"},
          "filter": {"description": "Metadata filter clauses (see the filter parameter): one text or a list", "oneOf": [{"type": "string", "maxLength": 2048}, {"type": "array", "maxItems": 32, "items": {"type": "string", "maxLength": 2048}}]}
        }
      },
      "SearchResult": {
        "type": "object",
        "required": ["id", "path", "score", "width", "height", "thumbnail_url", "url"],
        "properties": {
          "id": {"type": "integer", "format": "int64"},
          "path": {"type": "string", "description": "Relative to the collection root"},
          "score": {"type": "number", "description": "Cosine similarity"},
          "probability": {"type": "number", "minimum": 0, "maximum": 1, "description": "For text queries on the clip path with a SigLIP model: the model's own probability that text and image match, sigmoid(score · exp(logit_scale) + logit_bias)"},
          "width": {"type": "integer"},
          "height": {"type": "integer"},
          "thumbnail_url": {"type": "string"},
          "url": {"type": "string", "description": "The original: its own http(s) URL for an image fetched from a list, else this server's file URL"},
          "caption": {"type": "string", "description": "The image's caption, when the library has one"},
          "source_id": {"type": "string", "description": "For images from a list or S3: the list's id column, else the URL"},
          "source_url": {"type": "string", "description": "For images from a list or S3: where they were fetched from"},
          "metadata": {"type": "object", "additionalProperties": true, "description": "The image's metadata: a list's columns (numbers as numbers, keywords as lists), a photo's EXIF facts"}
        }
      },
      "SearchResponse": {
        "type": "object",
        "required": ["results", "took_ms"],
        "properties": {
          "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchResult"}},
          "took_ms": {"type": "number"}
        }
      },
      "ImageInfo": {
        "type": "object",
        "required": ["id", "path", "width", "height", "format", "size", "indexed_at", "thumbnail_url", "url", "similar_url"],
        "properties": {
          "id": {"type": "integer", "format": "int64"},
          "path": {"type": "string"},
          "width": {"type": "integer"},
          "height": {"type": "integer"},
          "format": {"type": "string"},
          "size": {"type": "integer", "description": "Bytes"},
          "indexed_at": {"type": "number", "description": "Seconds since 1970"},
          "thumbnail_url": {"type": "string"},
          "url": {"type": "string"},
          "similar_url": {"type": "string"},
          "source_id": {"type": "string"},
          "source_url": {"type": "string"},
          "metadata": {"type": "object", "additionalProperties": true}
        }
      },
      "LibraryInfo": {
        "type": "object",
        "required": ["status", "images", "model", "text_model", "dimension", "index_kind", "version", "captions", "search_paths", "precision", "kernel", "vector_precisions"],
        "properties": {
          "status": {"type": "string"},
          "images": {"type": "integer"},
          "model": {"type": "string"},
          "text_model": {"type": "string", "description": "The model text queries are encoded with (serve --text-model), else the library's own"},
          "dimension": {"type": "integer"},
          "index_kind": {"type": "string"},
          "version": {"type": "string"},
          "captions": {"type": "integer", "description": "Images with a caption"},
          "search_paths": {"type": "array", "items": {"type": "string", "enum": ["clip", "caption", "hybrid"]}, "description": "The paths text searches can take on this server"},
          "precision": {"type": "string", "enum": ["fp32", "int8", "bf16"], "description": "The precision this server's model runs in (serve --precision; auto resolved for this CPU)"},
          "kernel": {"type": "string", "description": "The matrix kernels that precision runs on here, e.g. int8-avx512-vnni, int8-avx2, openblas-f32"},
          "vector_precisions": {"type": "array", "items": {"type": "string"}, "description": "Every precision the library's vectors were made in; more than one means mixed (they agree to cosine ≥ 0.999)"}
        }
      },
      "IndexStatus": {
        "type": "object",
        "required": ["state", "done", "total", "added", "updated", "moved", "removed", "unchanged", "failed"],
        "properties": {
          "state": {"type": "string", "enum": ["idle", "running", "finished", "failed"]},
          "done": {"type": "integer"},
          "total": {"type": "integer"},
          "added": {"type": "integer"},
          "updated": {"type": "integer"},
          "moved": {"type": "integer"},
          "removed": {"type": "integer"},
          "unchanged": {"type": "integer"},
          "failed": {"type": "integer"},
          "started_at": {"type": "number"},
          "finished_at": {"type": "number"},
          "error": {"type": "string"}
        }
      },
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
          }
        }
      }
    }
  }
}
"""#
}

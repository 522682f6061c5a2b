"""An OTLP/HTTP metrics receiver for the tests: decodes each POST /v1/metrics with the official
opentelemetry-proto package and prints it, one JSON line per request, as the protobuf JSON
mapping (MessageToDict with the proto field names). Listens on 127.0.0.1 on a free port, which
it prints first ("listening PORT"). Answers 200 with an empty ExportMetricsServiceResponse in
the request's encoding; a body that does not decode is printed as {"error": ...} and answered
400. Exits when its stdin or stdout closes, or when killed."""

import base64
import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as service

LOCK = threading.Lock()


def hex_ids_to_base64(node):
    """OTLP/JSON spells trace and span ids in hex; the protobuf JSON parser wants base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId") and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            hex_ids_to_base64(item)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = self.headers.get("Content-Type", "")
        record = {"path": self.path, "content_type": ctype, "encoding": self.headers.get("Content-Encoding", "")}
        try:
            if record["encoding"] == "gzip":
                body = gzip.decompress(body)
            request = service.ExportMetricsServiceRequest()
            if ctype.startswith("application/json"):
                doc = json.loads(body)
                hex_ids_to_base64(doc)
                json_format.ParseDict(doc, request)
            else:
                request.ParseFromString(body)
            record["request"] = json_format.MessageToDict(request, preserving_proto_field_name=True)
            status = 200
        except Exception as e:  # noqa: BLE001 - reported to the test
            record["error"] = repr(e)
            status = 400
        with LOCK:
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()
        response = service.ExportMetricsServiceResponse()
        out = json_format.MessageToJson(response).encode() if ctype.startswith("application/json") else response.SerializeToString()
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/x-protobuf")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the test closes it or kills us


if __name__ == "__main__":
    main()

"""An OpenAI-style streaming server for the probe benchmarks: every chat completion waits
0.3 s, then streams 16 tokens 20 ms apart as Server-Sent Events, a usage chunk and
`data: [DONE]`. For each completion it appends to LOG the milliseconds from accepting the
connection to the first token leaving, and the decode rate it sent at (tokens/s after the
first). Prints its port, then serves until killed.

    python3 bench/model_site.py LOG
"""
import http.server
import json
import socketserver
import sys
import time

LOG = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the stream ends when the connection closes

    def setup(self):
        self.accepted = time.monotonic()
        super().setup()

    def do_GET(self):
        body = b'{"object":"list","data":[{"id":"tiny"}]}'
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        self.wfile.flush()
        time.sleep(0.3)
        sent = []
        for i in range(16):
            if i:
                time.sleep(0.02)
            chunk = {"choices": [{"index": 0, "delta": {"content": f"tok{i} "}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            sent.append(time.monotonic())
        usage = {"choices": [], "usage": {"prompt_tokens": 16, "completion_tokens": 16}}
        self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()
        with open(LOG, "a") as log:
            log.write(f"{(sent[0] - self.accepted) * 1000:.3f} {15 / (sent[-1] - sent[0]):.3f}\n")

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

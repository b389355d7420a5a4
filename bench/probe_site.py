"""A local HTTP server for the probe benchmarks: every GET waits DELAY seconds, then
answers 200 with a small JSON body. Prints its port, then serves until killed.

    python3 bench/probe_site.py [DELAY]        (default 0.2)
"""
import http.server
import sys
import time

DELAY = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        time.sleep(DELAY)
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

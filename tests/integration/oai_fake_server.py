#!/usr/bin/python3
"""A scripted OAI-PMH provider on loopback, for the harvester's tests.

Usage: oai_fake_server.py SCRIPT.json LOG

Binds 127.0.0.1 on port 0 and prints the port on stdout.  SCRIPT holds
{"routes": [{"match": {"verb": "ListRecords", "resumptionToken": "t1"},
"responses": [{"status": 503, "headers": {"Retry-After": "1"}},
{"file": "/path/page2.xml"}]}]}: the first route whose "match" parameters
all equal the request's (a value of null: the parameter is absent)
answers; its responses are used in turn, the last one again and again.
A response is a status (200), headers, a body ("file": raw bytes of a
file, or "body": text), or "close": true (the connection is dropped with
no answer).  Every request's path and query is appended to LOG.
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        query = urllib.parse.urlsplit(self.path).query
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        with open(self.server.log, "a") as log:
            log.write(self.path + "\n")
        route = next((r for r in self.server.routes
                      if all(params.get(k) == v
                             for k, v in r.get("match", {}).items())), None)
        if route is None:
            self.send_error(404, "no route in the script")
            return
        answers = route["responses"]
        used = route.setdefault("used", 0)
        answer = answers[min(used, len(answers) - 1)]
        route["used"] = used + 1
        if answer.get("close"):
            self.close_connection = True
            return
        if "file" in answer:
            with open(answer["file"], "rb") as f:
                body = f.read()
        else:
            body = answer.get("body", "").encode("utf-8")
        self.send_response(answer.get("status", 200))
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        headers.update(answer.get("headers", {}))
        for name, value in headers.items():
            if value is not None:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    with open(sys.argv[1]) as f:
        script = json.load(f)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.routes = script["routes"]
    server.log = sys.argv[2]
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

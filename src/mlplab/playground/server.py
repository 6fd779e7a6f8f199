"""The playground's web server: FastAPI on uvicorn, one static page, one WebSocket.

``create_app()`` serves the page (``static/``, package data, read once into memory and served
by exact name: no request becomes a file path) and ``/ws``, where each connection gets its own
``Session`` (its worker thread trains the runs; ``session.py`` has the protocol). A WebSocket
opened by a page of another origin is refused (a web site cannot drive the playground from a
user's browser), and so is a connection beyond ``max_sessions``. ``serve()`` runs it, bound to
127.0.0.1 unless told otherwise (another host gets a warning: anyone who can reach it can
train networks on this machine, though nothing from the page becomes a path or code).

FastAPI and uvicorn come with the extra ``mlplab[playground]``; they are imported inside the
functions that need them, so the rest of mlplab (and ``mlplab --help``) never needs them.
"""

import asyncio
import contextlib
import ipaddress
import socket
import threading
import webbrowser
from importlib import resources
from urllib.parse import urlsplit

from .session import MAX_MESSAGE, Session

__all__ = ["create_app", "serve", "static_files", "INSTALL_HINT", "is_loopback"]

INSTALL_HINT = "the playground needs its extra: pip install 'mlplab[playground]'"
_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def static_files() -> dict:
    """The page's files, read from the package's static/ folder.

    Returns
    -------
    dict
        {file name: (content bytes, media type)} of every .html, .css, .js and .svg file.
    """
    folder = resources.files("mlplab.playground") / "static"
    out = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _TYPES:
            out[entry.name] = (entry.read_bytes(), _TYPES[suffix])
    return out


def is_loopback(host) -> bool:
    """Whether a host name or address reaches only this machine.

    Parameters
    ----------
    host : str
        "localhost", or an IPv4 or IPv6 address (other names are not resolved).

    Returns
    -------
    bool
        True for "localhost" and loopback addresses (127.0.0.0/8, ::1), False otherwise.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _same_origin(websocket) -> bool:
    """A browser sends Origin; it must name the host the page was served from."""
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser (a test client, a script)
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def _send_loop(websocket, session, wake):
    while True:
        await wake.wait()
        wake.clear()
        for msg in session.outbox.take():
            if isinstance(msg, bytes):
                await websocket.send_bytes(msg)
            else:
                await websocket.send_text(msg)


def create_app(max_sessions=8):
    """The FastAPI application: "/" (the page), "/static/NAME", the WebSocket "/ws".

    Parameters
    ----------
    max_sessions : int, default 8
        The most WebSocket connections (sessions, each with its worker thread) at once; one
        more is closed with code 1008, as is one from a page of another origin.

    Returns
    -------
    fastapi.FastAPI
        The application (an ASGI app, for uvicorn or a test client).

    Raises
    ------
    ImportError
        Without FastAPI, saying to install ``mlplab[playground]``.
    """
    try:
        from fastapi import FastAPI, WebSocket
        from fastapi.responses import Response
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e

    files = static_files()
    app = FastAPI(title="mlplab playground", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sessions = 0

    @app.get("/")
    async def index():
        body, kind = files["index.html"]
        return Response(body, media_type=kind, headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    async def static(name: str):
        if name not in files:
            return Response("not found", status_code=404, media_type="text/plain")
        body, kind = files[name]
        return Response(body, media_type=kind, headers={"Cache-Control": "no-store"})

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        if not _same_origin(websocket) or app.state.sessions >= max_sessions:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        app.state.sessions += 1
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        session = await loop.run_in_executor(None, Session, lambda: loop.call_soon_threadsafe(wake.set))
        sender = asyncio.create_task(_send_loop(websocket, session, wake))
        try:
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                session.receive(msg.get("text"), msg.get("bytes"))
        finally:  # nothing awaited here: the task may be cancelled as the connection closes
            app.state.sessions -= 1
            sender.cancel()
            session.close(wait=False)

    return app


def serve(host="127.0.0.1", port=8000, open_browser=True, print_fn=print) -> int:
    """Run the playground until Ctrl-C: print its URL and open it in the browser.

    Parameters
    ----------
    host : str, default "127.0.0.1"
        The address to listen on; another than a loopback one gets a printed warning.
    port : int, default 8000
        The TCP port; 0 picks a free one.
    open_browser : bool, default True
        Whether to open the URL in the default browser (0.8 seconds after it listens).
    print_fn : callable, default print
        ``print_fn(text)``, for the URL and messages.

    Returns
    -------
    int
        An exit status: 0 after Ctrl-C, 2 when the port cannot be bound (the reason printed).

    Raises
    ------
    ImportError
        Without uvicorn, saying to install ``mlplab[playground]``.
    """
    try:
        import uvicorn
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    app = create_app()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # connectable as soon as the URL is printed
    except OSError as e:
        print_fn(f"mlplab playground: cannot listen on {host}:{port}: {e.strerror or e}")
        return 2
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if not is_loopback(host):
        print_fn(
            f"warning: listening on {host}, not only on this machine: anyone who can reach it can use the "
            f"playground (train networks on this computer). Use --host 127.0.0.1 to keep it local."
        )
    config = uvicorn.Config(app, log_level="warning", ws_max_size=MAX_MESSAGE + 1024, ws_ping_interval=None)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C at any time (uvicorn re-raises the one it stopped on)
        print_fn(f"mlplab playground: {url}  (Ctrl-C to stop)")
        if open_browser:
            threading.Timer(0.8, webbrowser.open, args=(url,)).start()
        server.run(sockets=[sock])
    print_fn("mlplab playground: stopped")
    return 0

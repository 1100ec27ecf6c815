"""A headless student: Streamlit 1.67's browser frontend reduced to its traffic, so one asyncio process can be a class.

A :class:`Student` is one browser tab. It loads the page as the frontend does (the page, ``/_stcore/health`` for the
XSRF cookie, ``/_stcore/host-config``) with the browser's key cookie (:data:`aecore.ui.browser_cookie.COOKIE`, a
fresh random key unless given), opens ``/_stcore/stream`` with the frontend's subprotocols (``streamlit``, the XSRF
token) and answers as the frontend's JavaScript does (``streamlit/static/static/js/index.*.js``; checked frame by
frame against Chromium's on the Train page): each ``rerun_script`` carries the query string (``page_info_changed``
updates it), the page name until ``navigation`` gives the page's hash, the browser's context, every widget value
the frontend keeps (the script's ``set_value``, else the default when first drawn, until the widget leaves the
page) and the hashes of the cacheable messages it keeps (``max_cached_message_age`` runs), so the server sends it
``ref_hash`` as it would a browser. A click adds the button's ``trigger_value``, in the button's fragment if any.
``auto_rerun`` starts a fragment rerun every interval on a fixed clock (``setInterval``: sent whatever became of the
last one; the server drops those of a fragment gone); a full run's ``new_session`` and ``stop_auto_rerun`` end it.
The element tree is pruned when a run ends (``clearStaleNodes``) for :meth:`Student.texts`; images are fetched
once each (``/media/...``), as a browser's cache does.

Not emulated: JavaScript (custom components, ``st.html`` scripts), rendering, static assets, file uploads, forms'
pending values, chart, table and component selections (the server keeps their last values), reconnecting after a
dropped websocket. Unknown messages are counted and otherwise ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Block_pb2 import Block
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from aecore.ui.browser_cookie import COOKIE

T = TypeVar("T")
XSRF_COOKIE = "_streamlit_xsrf"
TEXT_FIELDS = ("label", "body", "text", "message", "code_text")  # where an element's visible text is
DONE, EARLY, FRAGMENT_DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_EARLY_FOR_RERUN,
                              ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
VALUED = ("number_input", "text_input", "text_area", "time_input", "color_picker", "date_input")  # value, default


@dataclass
class _Node:
    """An element (``children`` None) or a block of the page, with the run, fragment and script that drew it."""
    proto: Any
    run: str
    fragment: str = ""
    script: str = ""
    children: list[_Node] | None = None

    def widget(self) -> tuple[str, Any]:
        kind = self.proto.WhichOneof("type") if self.children is None else None
        return kind or "", getattr(self.proto, kind) if kind else None


def _widget_state(kind: str, p: Any) -> WidgetState | None:
    """The value the frontend keeps for widget ``p``: the script's (``set_value``), else its default (a state with
    no value for None, as the frontend sends null); None for a widget that keeps none (a button) or not emulated."""
    s, given = WidgetState(id=p.id), getattr(p, "set_value", False)
    try:
        if kind == "checkbox":
            s.bool_value = p.value if given else p.default
        elif kind in ("radio", "selectbox"):
            if given and p.HasField("raw_value"):
                s.string_value = p.raw_value
            elif not given and p.HasField("default"):
                s.string_value = p.options[p.default]
        elif kind in ("multiselect", "button_group"):
            options = [getattr(option, "content", option) for option in p.options]
            s.string_array_value.data.extend(p.raw_values if given else [options[i] for i in p.default])
        elif kind == "slider" and p.type == Slider.SELECT_SLIDER:
            s.string_array_value.data.extend(p.raw_value if given else [p.options[int(i)] for i in p.default])
        elif kind == "slider":
            s.double_array_value.data.extend(p.value if given else p.default)
        elif kind in VALUED:
            name = "value" if given else "default"
            if p.DESCRIPTOR.fields_by_name[name].has_presence and not p.HasField(name):
                return s
            value = getattr(p, name)
            if kind == "date_input":
                s.string_array_value.data.extend(value)
            elif kind == "number_input" and p.data_type == NumberInput.INT:
                s.int_value = int(value)
            else:
                setattr(s, "double_value" if kind == "number_input" else "string_value", value)
        elif kind == "file_uploader":
            s.file_uploader_state_value.SetInParent()
        else:
            return None
    except IndexError:
        return None
    return s


class Student:
    """One browser tab (see the module). Counters: ``exceptions`` (exception elements received), ``messages``,
    ``bytes_received`` and ``message_types`` (ForwardMsgs), ``runs_finished``, ``fragment_runs_finished`` and
    ``runs_interrupted`` (``script_finished`` by status), ``reruns_sent`` (``auto_reruns_sent`` of them by timers),
    ``media_fetched``/``media_bytes``, ``cache_hits``/``cache_misses``; ``closed``: why the websocket ended."""

    def __init__(self, key: str | None = None, *, fetch_media: bool = True, timezone: str = "UTC",
                 locale: str = "en-US") -> None:
        self.key = key or secrets.token_urlsafe(16)
        self.cookies = {COOKIE: self.key}
        self.fetch_media, self.timezone, self.locale = fetch_media, timezone, locale
        self.exceptions = self.messages = self.bytes_received = self.reruns_sent = self.auto_reruns_sent = 0
        self.runs_finished = self.fragment_runs_finished = self.runs_interrupted = 0
        self.media_fetched = self.media_bytes = self.cache_hits = self.cache_misses = 0
        self.message_types: Counter[str] = Counter()
        self.closed: str | None = None
        self._ws: ClientConnection | None = None
        self._root = _Node(None, "", children=[_Node(Block(), "", children=[]) for _ in range(4)])  # main, sidebar...
        self._base = self._path = self._query = self._run = self._main_hash = self._page_hash = ""
        self._pages: dict[str, str] = {}  # url path -> page script hash
        self._widgets: dict[str, WidgetState] = {}
        self._cache: dict[str, list] = {}  # hash -> [encoded message, cache run count, fragment id]
        self._cache_runs, self._max_age, self._new_session, self._awaiting_run = 0, 2, False, False
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._media: set[str] = set()
        self._tick: asyncio.Future | None = None

    async def open(self, base_url: str, path_and_query: str, timeout: float = 120.0) -> None:
        """Load ``path_and_query`` (``/train?dataset=digits``) from ``base_url``; return when its first run ends."""
        self._base = base_url.rstrip("/")
        path, _, self._query = path_and_query.partition("?")
        self._path = "/" + path.strip("/")
        await self._get(path_and_query, accept="text/html")
        for endpoint in ("/_stcore/health", "/_stcore/host-config"):
            await self._get(endpoint)
        xsrf = self.cookies.get(XSRF_COOKIE, "PLACEHOLDER_AUTH_TOKEN")
        self._ws = await connect(f"ws://{urlsplit(self._base).netloc}/_stcore/stream", origin=Origin(self._base),
                                 subprotocols=[Subprotocol("streamlit"), Subprotocol(xsrf)], proxy=None,
                                 additional_headers={"Cookie": self._cookie()}, max_size=None, ping_interval=None)
        self._spawn(self._receive())
        await self._rerun(page_name=self._path.strip("/"))
        await self.settle(timeout)

    async def goto(self, url_path: str, timeout: float = 120.0) -> None:
        """Open the page at ``url_path`` (``"explore"``, ``""`` for the default) from the sidebar's navigation."""
        if url_path.strip("/") not in self._pages:
            raise ValueError(f"no page {url_path!r}: the app has {sorted(self._pages)}")
        self._stop_timers()
        self._path, self._query = "/" + url_path.strip("/"), ""
        self._prune_page()
        await self._rerun(page_hash=self._pages[url_path.strip("/")])
        await self.settle(timeout)

    async def click(self, label: str, timeout: float = 60.0) -> None:
        """Press the first enabled button labelled ``label`` (main area, then sidebar), waiting up to ``timeout`` s
        for one to be there, as Playwright waits for a button to be enabled."""
        def enabled() -> _Node | None:
            return next((node for node in self._elements() if node.widget()[0] == "button"
                         and node.proto.button.label == label and not node.proto.button.disabled), None)
        node = await self._until(enabled, timeout, f"an enabled button {label!r}")
        await self._rerun(trigger=node.proto.button.id, fragment=node.fragment)

    def texts(self) -> list[str]:
        """The texts on the page now, in page order: markdown, captions, progress texts, alerts, labels, errors."""
        return [text for node in self._elements() for name in TEXT_FIELDS
                if isinstance(text := getattr(node.widget()[1], name, None), str) and text]

    def page(self) -> str | None:
        """The URL path of the page shown now (``""`` for the default page; None before the app named its pages),
        as the sidebar's navigation marks it, including a page the server switched to (``st.switch_page``)."""
        return next((path for path, page_hash in self._pages.items() if page_hash == self._page_hash), None)

    def exceptions_shown(self) -> list[str]:
        """The messages of the exceptions on the page now."""
        return [node.proto.exception.message for node in self._elements() if node.widget()[0] == "exception"]

    async def wait_for_text(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in :meth:`texts`, waiting up to ``timeout`` s for one."""
        def match() -> re.Match[str] | None:
            return next((found for text in self.texts() if (found := pattern.search(text))), None)
        return await self._until(match, timeout, f"a text matching {pattern.pattern!r}")

    async def settle(self, timeout: float = 120.0) -> None:
        """Wait until the last full run asked for (:meth:`open`, :meth:`click` outside fragments, :meth:`goto`)
        has ended."""
        await self._until(lambda: not self._awaiting_run or None, timeout, "the script run's end")

    async def close(self) -> None:
        """Close the tab: its timers, websocket and requests."""
        self.closed = self.closed or "closed"
        self._stop_timers()
        if self._ws is not None:
            await self._ws.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # the connection
    def _cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    async def _get(self, path: str, accept: str = "*/*") -> bytes:
        """GET ``path`` (HTTP/1.1, one connection) with the browser's cookies; keep those set; the raw body."""
        base = urlsplit(self._base)
        reader, writer = await asyncio.open_connection(base.hostname, base.port or 80)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {base.netloc}\r\nAccept: {accept}\r\nCookie: {self._cookie()}"
                     "\r\nConnection: close\r\n\r\n".encode())
        try:
            head, _, body = (await reader.read()).partition(b"\r\n\r\n")
        finally:
            writer.close()
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "set-cookie":
                cookie, _, cookie_value = value.strip().split(";", 1)[0].partition("=")
                self.cookies[cookie] = cookie_value
        return body

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _receive(self) -> None:
        try:
            async for frame in self._ws:
                self.bytes_received += len(frame)
                self._handle(frame)
                self._changed()
        except Exception as error:  # the connection dropped, or a bug here: either way it shows in ``closed``
            self.closed = f"{type(error).__name__}: {error}"
        self.closed = self.closed or "closed by the server"
        self._stop_timers()
        self._changed()
        await self._ws.close()

    async def _rerun(self, *, fragment: str = "", auto: bool = False, trigger: str = "", page_name: str = "",
                     page_hash: str = "") -> None:
        page_hash = page_hash or self._page_hash
        state = ClientState(query_string=self._query, page_script_hash=page_hash, fragment_id=fragment,
                            page_name="" if page_hash else page_name, is_auto_rerun=auto,
                            cached_message_hashes=list(self._cache))
        state.widget_states.widgets.extend(self._widgets.values())
        if trigger:
            state.widget_states.widgets.add(id=trigger, trigger_value=True)
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = self.timezone, 0, self.locale
        info.url, info.is_embedded, info.color_scheme = self._base + self._path, False, "light"
        self._awaiting_run, self._new_session = self._awaiting_run or not fragment, False
        if self.closed is not None:
            return
        try:
            await self._ws.send(BackMsg(rerun_script=state).SerializeToString())
        except ConnectionClosed as error:
            self.closed = f"ConnectionClosed: {error}"
            return
        self.reruns_sent += 1
        self.auto_reruns_sent += auto

    async def _every(self, fragment: str, interval: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while self.closed is None:
            due += interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            await self._rerun(fragment=fragment, auto=True)

    def _stop_timers(self, fragments: list[str] | None = None) -> None:
        for fragment in list(self._timers) if fragments is None else fragments:
            if fragment in self._timers:
                self._timers.pop(fragment)[1].cancel()

    async def _fetch(self, url: str) -> None:
        with contextlib.suppress(OSError):
            self.media_bytes += len(await self._get(url))
            self.media_fetched += 1

    # the messages
    def _handle(self, frame: bytes) -> None:
        msg = ForwardMsg.FromString(frame)
        kind = msg.WhichOneof("type")
        self.messages += 1
        self.message_types[kind] += 1
        if kind == "ref_hash":
            if (cached := self._cache.get(msg.ref_hash)) is None:
                self.cache_misses += 1
                return
            self.cache_hits += 1
            cached[1], metadata, msg = self._cache_runs, msg.metadata, ForwardMsg.FromString(cached[0])
            msg.metadata.CopyFrom(metadata)
            kind = msg.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self._cache.setdefault(msg.hash, [frame, 0, msg.delta.fragment_id])[1] = self._cache_runs
        if kind == "delta":
            self._delta(msg)
        elif kind == "new_session":
            session, self._new_session, self._run = msg.new_session, True, msg.metadata.run.script_run_id
            self._max_age, self._main_hash = session.config.max_cached_message_age, session.main_script_hash
            if session.page_script_hash != self._page_hash:
                self._prune_page()
            if not msg.metadata.run.fragment_ids:  # a full run: the frontend takes its page from it, as from navigation
                self._stop_timers()
                self._page_hash = session.page_script_hash
        elif kind == "script_finished":
            self._finished(msg.script_finished, msg.metadata.run.script_run_id, list(msg.metadata.run.fragment_ids))
        elif kind == "navigation":
            self._page_hash = msg.navigation.page_script_hash
            self._pages = {page.url_pathname: page.page_script_hash for page in msg.navigation.app_pages}
        elif kind == "page_not_found":
            self._page_hash = self._main_hash
        elif kind == "page_info_changed":
            self._query = msg.page_info_changed.query_string
        elif kind == "auto_rerun" and (fragment := msg.auto_rerun.fragment_id):
            if self._timers.get(fragment, (None,))[0] != msg.auto_rerun.interval:
                self._stop_timers([fragment])
                timer = self._spawn(self._every(fragment, msg.auto_rerun.interval))
                self._timers[fragment] = (msg.auto_rerun.interval, timer)
        elif kind == "stop_auto_rerun":
            self._stop_timers(list(msg.stop_auto_rerun.fragment_ids))

    def _delta(self, msg: ForwardMsg) -> None:
        delta, path, script = msg.delta, list(msg.metadata.delta_path), msg.metadata.active_script_hash
        if delta.WhichOneof("type") == "new_element":
            node = _Node(delta.new_element, self._run, delta.fragment_id, script)
            self._set(path, node)
            kind, proto = node.widget()
            self.exceptions += kind == "exception"
            drawn = getattr(proto, "id", "") and (proto.id not in self._widgets or getattr(proto, "set_value", False))
            if drawn and (state := _widget_state(kind, proto)) is not None:  # drawn first, or given a value
                self._widgets[proto.id] = state
            for image in proto.imgs if kind == "imgs" and self.fetch_media else ():
                if image.url.startswith("/media/") and image.url not in self._media:
                    self._media.add(image.url)
                    self._spawn(self._fetch(image.url))
        elif delta.WhichOneof("type") == "add_block":
            old, block = self._at(path), delta.add_block
            same = (old is not None and isinstance(old.proto, Block) and old.proto.dialog.id == block.dialog.id
                    and old.proto.WhichOneof("type") == block.WhichOneof("type"))  # a block redrawn keeps its children
            self._set(path, _Node(block, self._run, delta.fragment_id, script, old.children if same else []))

    def _finished(self, status: int, run: str, fragments: list[str]) -> None:
        self.runs_interrupted += status == EARLY
        self.fragment_runs_finished += status == FRAGMENT_DONE
        if status not in (EARLY, FRAGMENT_DONE):
            self.runs_finished += 1
            self._awaiting_run = False
        if status in (DONE, FRAGMENT_DONE) and (fragments or run == self._run):
            self._root.children = [self._prune(root, run, fragments, "") or _Node(Block(), run, children=[])
                                   for root in self._root.children]
            self._forget_gone_widgets()
        if status != EARLY and self._new_session:
            self._cache_runs += 1
            for key, (_, runs, fragment) in list(self._cache.items()):
                if (not fragments or fragment in fragments) and self._cache_runs - runs > self._max_age:
                    del self._cache[key]

    # the page's tree
    def _at(self, path: list[int]) -> _Node | None:
        node: _Node | None = self._root
        for index in path:
            node = node.children[index] if node and node.children and index < len(node.children) else None
        return node

    def _set(self, path: list[int], new: _Node) -> None:
        """``setNodeAtPath``: put ``new`` at ``path``; every block on the way now belongs to this run."""
        parent = self._root
        for depth, index in enumerate(path):
            last = depth == len(path) - 1
            if parent.children is None or index > len(parent.children) - (not last):
                return  # a path the frontend refuses too
            parent.run = self._run
            if last:
                parent.children[index:index + 1] = [new]
            parent = parent.children[index]

    def _prune(self, node: _Node, run: str, fragments: list[str], fragment_block: str) -> _Node | None:
        """``clearStaleNodes``: drop what the run that ended (a fragment run: within its fragments) did not draw."""
        if node.children is None:
            stale = node.run != run and node.widget()[0] != "toast"
            return None if stale and not (fragments and not (node.fragment and fragment_block)) else node
        if fragments and fragment_block and node.run != run or not fragments and node.run != run:
            return None
        if fragments and node.fragment in fragments and node.run == run:
            fragment_block = node.fragment
        node.children = [kept for child in node.children
                         if (kept := self._prune(child, run, fragments, fragment_block))]
        return node

    def _prune_page(self) -> None:
        """``clearPageElements``: another page keeps only what the main script drew (the shared sidebar)."""
        def keep(node: _Node) -> _Node | None:
            if node.script != self._main_hash:
                return None
            if node.children is not None:
                node.children = [kept for child in node.children if (kept := keep(child))]
            return node
        for root in self._root.children:
            root.children = [kept for child in root.children if (kept := keep(child))]
        self._forget_gone_widgets()

    def _forget_gone_widgets(self) -> None:
        """``removeInactiveWidgetState``: a widget gone from the page keeps no value."""
        shown = {getattr(node.widget()[1], "id", "") for node in self._elements()}
        self._widgets = {key: state for key, state in self._widgets.items() if key in shown}

    def _elements(self) -> list[_Node]:
        out, stack = [], list(reversed(self._root.children))
        while stack:
            node = stack.pop()
            out += [node] if node.children is None else []
            stack.extend(reversed(node.children or []))
        return out

    # waiting
    def _changed(self) -> None:
        if self._tick is not None and not self._tick.done():
            self._tick.set_result(None)
        self._tick = None

    async def _until(self, condition: Callable[[], T | None], timeout: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (result := condition()) is None:
            if self.closed is not None:
                raise ConnectionError(f"waiting for {what}: the websocket ended ({self.closed})")
            self._tick = self._tick or loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._tick), deadline - loop.time())
            except TimeoutError:
                raise TimeoutError(f"no {what} within {timeout} s") from None
        return result

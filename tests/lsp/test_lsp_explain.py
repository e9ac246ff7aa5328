"""Explanations through the real server: API and state hovers in both languages, rule-code hovers,
and inlay hints that follow their setting."""

from __future__ import annotations

from lsp_helpers import (
    SEED_URI,
    RecordingClient,
    hover_markdown,
    initialize,
    open_document,
    seed_text,
    train_forward_line,
    wait_for_publish,
)
from lsprotocol import types


async def hover_at(client: RecordingClient, line: int, character: int) -> str | None:
    return await hover_markdown(client, line, character)


async def open_seed(
    client: RecordingClient, locale: str | None, options: dict[str, object] | None = None
) -> str:
    await initialize(client, locale=locale, options=options or {"debounceMs": 0})
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)
    return text


async def test_chinese_client_gets_chinese_api_and_state_hovers(client: RecordingClient) -> None:
    text = await open_seed(client, "zh-CN")
    lines = text.splitlines()
    eval_line = next(index for index, line in enumerate(lines) if line.strip() == "model.eval()")
    api = await hover_at(client, eval_line, lines[eval_line].index("eval") + 1)
    assert api is not None and "不会改变:autograd" in api
    step = train_forward_line(text)
    state = await hover_at(client, step, lines[step].index("model(") + 1)
    assert state is not None
    assert "**模式**:train(训练模式) | eval(评估模式)" in state
    assert "在之前的循环迭代中" in state


async def test_state_hover_names_the_eval_switch_and_its_line(client: RecordingClient) -> None:
    text = await open_seed(client, "en")
    lines = text.splitlines()
    step = train_forward_line(text)
    call_line = next(index for index, line in enumerate(lines) if "= test(model, validation_loader)" in line)
    state = await hover_at(client, step, lines[step].index("model(") + 1)
    assert state is not None
    assert "**mode**: train | eval" in state
    assert f"`test(model, validation_loader)` (line {call_line + 1}) on an earlier loop iteration" in state


async def test_rule_code_hover_in_a_noqa_comment(client: RecordingClient) -> None:
    await initialize(client, locale="en", options={"debounceMs": 0})
    text = "def f(model, x):\n    return model(x)  # noqa: TM101\n"
    open_document(client, text)
    await wait_for_publish(client, version=1)
    line = text.splitlines()[1]
    page = await hover_at(client, 1, line.index("TM101") + 2)
    assert page is not None and page.startswith("# TM101 train-step-in-eval-mode")


async def test_inlay_hints_follow_the_setting(client: RecordingClient) -> None:
    text = await open_seed(client, "en", {"debounceMs": 0, "settings": {"inlayHints": True}})
    step = train_forward_line(text)
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=len(text.splitlines()), character=0),
    )
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=types.TextDocumentIdentifier(uri=SEED_URI), range=whole)
    )
    assert hints is not None
    labels = {hint.position.line: hint.label for hint in hints}
    assert labels[step] == "mode: train|eval"
    evaluation = next(line for line, label in labels.items() if line != step)
    assert labels[evaluation] == "mode: eval · no-grad"

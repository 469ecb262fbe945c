"""The deterministic, network-free offline model: an SDK `Model` driven by `offline_rules`.

It lets a new user see the whole system work without an API key and keeps end-to-end tests
deterministic. The text depends only on the input; output item ids and call ids are fresh uuid4s
because the SDK de-duplicates model input by id across runs and restarts.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import Tool
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from asdrp.memory.rows import estimate_tokens_of_text
from asdrp.models.offline_rules.engine import Decision, decide

OFFLINE_MODEL_NAME = "offline"
"""The label every response made by this model carries (`model_label`, response metadata)."""

_CHUNK = re.compile(r"\S+\s*|\s+")


def _estimate_tokens(text: str) -> int:
    """Usage accounting uses the memory layer's one token estimate (0 for no text at all)."""
    return estimate_tokens_of_text(text) if text else 0


def _input_size(system_instructions: str | None, input_: str | list[TResponseInputItem]) -> int:
    if isinstance(input_, str):
        body = input_
    else:
        body = json.dumps([i if isinstance(i, dict) else str(i) for i in input_], default=str)
    return _estimate_tokens((system_instructions or "") + body)


def text_chunks(text: str) -> list[str]:
    """The deltas a streamed answer is cut into: one word with its trailing space each."""
    return _CHUNK.findall(text) or [text]


class OfflineModel(Model):
    """An SDK `Model` that answers by the offline rules (see `asdrp.models.offline_rules`)."""

    name = OFFLINE_MODEL_NAME

    def __repr__(self) -> str:
        return "OfflineModel()"

    def _decide(self, system_instructions: str | None, input: str | list[TResponseInputItem],
                tools: list[Tool]) -> Decision:
        return decide(system_instructions, input, tools)

    def _output_items(self, decision: Decision) -> list[TResponseOutputItem]:
        if decision.is_tool_call:
            return [ResponseFunctionToolCall(
                id=f"fc_{uuid.uuid4().hex}",
                call_id=f"call_{uuid.uuid4().hex}",
                type="function_call",
                name=name,
                arguments=json.dumps(arguments, ensure_ascii=False),
                status="completed",
            ) for name, arguments in decision.calls]
        return [ResponseOutputMessage(
            id=f"msg_{uuid.uuid4().hex}",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=decision.text or "",
                                        annotations=[], logprobs=[])],
        )]

    def _usage(self, system_instructions: str | None, input: str | list[TResponseInputItem],
               decision: Decision) -> Usage:
        produced = decision.text or json.dumps([arguments for _, arguments in decision.calls])
        input_tokens = _input_size(system_instructions, input)
        output_tokens = _estimate_tokens(produced)
        return Usage(requests=1, input_tokens=input_tokens, output_tokens=output_tokens,
                     total_tokens=input_tokens + output_tokens)

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        """One complete answer: a message, or a single function call."""
        decision = self._decide(system_instructions, input, tools)
        return ModelResponse(output=self._output_items(decision),
                             usage=self._usage(system_instructions, input, decision),
                             response_id=f"offline-{uuid.uuid4()}")

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """The same answer as Responses stream events, text delivered one word per delta."""
        decision = self._decide(system_instructions, input, tools)
        output = self._output_items(decision)
        usage = self._usage(system_instructions, input, decision)
        for event in _stream_events(output, usage, response_id=f"offline-{uuid.uuid4()}"):
            yield event


def _response(response_id: str, output: list[TResponseOutputItem], usage: Usage | None,
              status: str) -> Response:
    response_usage = None
    if usage is not None:
        response_usage = ResponseUsage(
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            input_tokens_details=InputTokensDetails.model_validate(
                {"cached_tokens": 0, "cache_write_tokens": 0}),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        )
    return Response(id=response_id, created_at=0, model=OFFLINE_MODEL_NAME, object="response",
                    output=output, tool_choice="auto", tools=[], top_p=None,
                    parallel_tool_calls=False, status=status,  # type: ignore[arg-type]
                    usage=response_usage)


def _stream_events(output: list[TResponseOutputItem], usage: Usage,
                   response_id: str) -> list[TResponseStreamEvent]:
    """The Responses event sequence for `output`, ending with `response.completed`."""
    events: list[Any] = []
    seq = iter(range(1_000_000))
    events.append(ResponseCreatedEvent(type="response.created", sequence_number=next(seq),
                                       response=_response(response_id, [], None, "in_progress")))
    events.append(ResponseInProgressEvent(type="response.in_progress", sequence_number=next(seq),
                                          response=_response(response_id, [], None, "in_progress")))
    for index, item in enumerate(output):
        if isinstance(item, ResponseOutputMessage):
            events.extend(_message_events(item, index, seq))
        elif isinstance(item, ResponseFunctionToolCall):
            events.extend(_function_call_events(item, index, seq))
    events.append(ResponseCompletedEvent(type="response.completed", sequence_number=next(seq),
                                         response=_response(response_id, output, usage, "completed")))
    return events


def _message_events(item: ResponseOutputMessage, index: int, seq: Any) -> list[Any]:
    part = item.content[0]
    assert isinstance(part, ResponseOutputText)
    events: list[Any] = [
        ResponseOutputItemAddedEvent(
            type="response.output_item.added", output_index=index, sequence_number=next(seq),
            item=item.model_copy(update={"content": [], "status": "in_progress"})),
        ResponseContentPartAddedEvent(
            type="response.content_part.added", item_id=item.id, output_index=index,
            content_index=0, sequence_number=next(seq),
            part=ResponseOutputText(type="output_text", text="", annotations=[], logprobs=[])),
    ]
    for chunk in text_chunks(part.text):
        events.append(ResponseTextDeltaEvent(
            type="response.output_text.delta", item_id=item.id, output_index=index,
            content_index=0, delta=chunk, logprobs=[], sequence_number=next(seq)))
    events.extend([
        ResponseTextDoneEvent(type="response.output_text.done", item_id=item.id, output_index=index,
                              content_index=0, text=part.text, logprobs=[], sequence_number=next(seq)),
        ResponseContentPartDoneEvent(type="response.content_part.done", item_id=item.id,
                                     output_index=index, content_index=0, part=part,
                                     sequence_number=next(seq)),
        ResponseOutputItemDoneEvent(type="response.output_item.done", output_index=index,
                                    item=item, sequence_number=next(seq)),
    ])
    return events


def _function_call_events(item: ResponseFunctionToolCall, index: int, seq: Any) -> list[Any]:
    return [
        ResponseOutputItemAddedEvent(
            type="response.output_item.added", output_index=index, sequence_number=next(seq),
            item=item.model_copy(update={"arguments": "", "status": "in_progress"})),
        ResponseFunctionCallArgumentsDeltaEvent(
            type="response.function_call_arguments.delta", item_id=str(item.id), output_index=index,
            delta=item.arguments, sequence_number=next(seq)),
        ResponseFunctionCallArgumentsDoneEvent.model_validate({
            "type": "response.function_call_arguments.done", "item_id": item.id,
            "output_index": index, "arguments": item.arguments, "name": item.name,
            "sequence_number": next(seq)}),
        ResponseOutputItemDoneEvent(type="response.output_item.done", output_index=index,
                                    item=item, sequence_number=next(seq)),
    ]

"""Local language models: the chat service protocol, its backends, planners, model admin.

Owns every call to a model server (Ollama through the official client, the embedded
llama.cpp server over its OpenAI-compatible API), the specialists' planners that turn a
natural-language task into a plan or a program, and creating/listing/deleting models.
"""

__all__: list[str] = []

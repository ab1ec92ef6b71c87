"""Embedded local models: a registry of pinned GGUF models and an in-process llama.cpp runtime."""

from .models import DEFAULT_MODEL, MODELS, LocalModel, ModelNotInstalled, install, models_dir, path

__all__ = ["DEFAULT_MODEL", "MODELS", "LocalModel", "ModelNotInstalled", "install", "models_dir",
           "path"]

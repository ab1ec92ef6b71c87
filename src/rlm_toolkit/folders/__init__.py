"""Folders and many files as one context: a lazy mapping of relative path -> text."""

from .tree import FolderContext, open_folder

__all__ = ["FolderContext", "open_folder"]

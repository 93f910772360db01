"""Per-payer knowledge: the declarative registry (payers.yaml) and handlers. No Dagster import."""

from payer_handlers.base import Payer, RegistryError
from payer_handlers.registry import load_registry, registry_path

__all__ = ["Payer", "RegistryError", "load_registry", "registry_path"]

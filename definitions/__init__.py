"""The shared definitions: one unambiguous, versioned definition per capacity item.

The YAML files beside this module are the source of truth; this module only loads and indexes
them. Adapters, streams, storage and the API all read definitions from here.
"""

from definitions.catalogue import Catalogue, Definition, Region, load_catalogue

__all__ = ["Catalogue", "Definition", "Region", "load_catalogue"]

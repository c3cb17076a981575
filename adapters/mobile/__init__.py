"""Mobile-unit adapters: positions of ambulances, HAP visit cars and district nurses."""

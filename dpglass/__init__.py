"""dpglass: ionic conductivity of glass electrolytes from machine-learned-potential MD."""

__version__ = "0.1.0"

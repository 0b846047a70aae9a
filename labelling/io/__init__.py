"""Data in and out, without SQL: item values to text and back, CSV reading and import, exports, the demo."""

//! Input validation per field type (data-arg-processor validator-utils), with Twenty's messages.

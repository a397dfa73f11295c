//! Renderers: one plan (or apply report) to text, markdown or JSON. Write to a writer; decide
//! nothing. (Being written.)

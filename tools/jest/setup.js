// Nest relies on decorator metadata.
require('reflect-metadata');

module.exports = { displayName: 'verifier-feature', preset: '../../../jest.preset.js', rootDir: __dirname };

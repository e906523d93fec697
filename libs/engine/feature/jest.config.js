module.exports = { displayName: 'engine-feature', preset: '../../../jest.preset.js', rootDir: __dirname };

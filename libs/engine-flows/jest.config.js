module.exports = { displayName: 'engine-flows', preset: '../../jest.preset.js', rootDir: __dirname };

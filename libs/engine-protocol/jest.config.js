module.exports = { displayName: 'engine-protocol', preset: '../../jest.preset.js', rootDir: __dirname };

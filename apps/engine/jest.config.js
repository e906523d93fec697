module.exports = { displayName: 'engine', preset: '../../jest.preset.js', rootDir: __dirname };

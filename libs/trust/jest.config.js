module.exports = { displayName: 'trust', preset: '../../jest.preset.js', rootDir: __dirname };

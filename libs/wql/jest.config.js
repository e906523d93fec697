module.exports = { displayName: 'wql', preset: '../../jest.preset.js', rootDir: __dirname };

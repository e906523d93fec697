module.exports = { displayName: 'public-config', preset: '../../jest.preset.js', rootDir: __dirname };

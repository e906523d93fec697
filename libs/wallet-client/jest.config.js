module.exports = { displayName: 'wallet-client', preset: '../../jest.preset.js', rootDir: __dirname };
